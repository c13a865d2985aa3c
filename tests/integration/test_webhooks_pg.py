#!/usr/bin/python3
"""
Webhooks on the PostgreSQL store (test_webhooks.py's checks, docs/webhooks.md "Several nodes"):

- one hearthd on PostgreSQL posts joins, a ban, leaves and the room's start and end, signed and
  in the audit trail's order, and after a kill -9 with events waiting it posts them all;
- two hearthd nodes share the database, only node A has webhook.url: what happens on node B
  (joins, a ban, leaves) is posted by A, in the shared trail's id order, interleaved with A's.
"""

import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
import test_webhooks as W  # noqa: E402
from test_moderation import join  # noqa: E402

DB = "hearth"


async def two_nodes(C, a, b, rec):
    after = max(rec.ids() or [0])
    sa = [await join(a, "east", f"ea{i}") for i in range(3)]
    sb = [await join(b, "west", f"wb{i}") for i in range(3)]
    b.admin("POST", "/moderation", {"action": "ban", "room": "west", "user": "raider"})
    for s in sa + sb:
        await s.close()
    H.wait_until(lambda: sum(e["kind"] == "session.leave" for e in W.trail(a, after)) >= 6, 5)
    want = W.trail(a, after)
    C("B's events are in the shared trail", sum(e.get("room") == "west" for e in want) >= 7,
      str([e["kind"] for e in want]))
    C("node A posts node B's events too", W.wait_delivered(rec, want, 5),
      f"missing {sorted({e['id'] for e in want} - set(rec.ids()))}")
    W.check_in_order(C, "two nodes", [i for i in rec.ids() if i > after], want)
    W.check_signed(C, "two nodes", rec)


async def main(args, C):
    pg = H.PgServer().start()
    pg.createdb(DB)
    store = {"backend": "postgres", "postgres_url": pg.url(DB)}
    rec = W.Receiver().start()
    cfg = W.webhook_config(rec.port)
    cfg["store"] = store
    a = H.Server(args.build_dir, name="webhooks-pg-a", sets=W.SETS, config=cfg).start()
    with C.section("one node on PostgreSQL: signed, in order"):
        last = await W.test_signed_in_order(C, a, rec)
    with C.section("kill -9 with events queued"):
        rec = await W.test_kill9(C, a, rec, last)
    b = H.Server(args.build_dir, name="webhooks-pg-b", sets=W.SETS,
                 config={"store": store}).start()
    with C.section("two nodes, one webhook"):
        await two_nodes(C, a, b, rec)
    b.stop(C)
    a.stop(C, sig=signal.SIGTERM)
    rec.stop()


if __name__ == "__main__":
    H.run_main("webhooks on PostgreSQL", main)
