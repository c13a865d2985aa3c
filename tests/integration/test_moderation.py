#!/usr/bin/python3
"""
Moderation against a real hearthd, driven as moderators and operators would:

- a moderator's kick through signaling closes the target (4008) and holds at the door (ticket
  403 `kicked`, fresh join refused) while the vote runs; the other moderators vote it down, it is
  overturned and the user gets in again; ratified, the door stays shut;
- every moderation message from a non-moderator, for an absent target, or malformed, gets its
  error code while the room keeps working;
- an operator's ban with hearthctl survives a restart; unban lifts it; `hearthctl unrevoke`
  undoes `hearthctl revoke user` (the README's quick-start lock-out);
- kill -9 in the middle of a burst of 1,000 moderation actions from several moderators: every
  action acknowledged before the kill is in the audit trail after the restart, and the trail
  verifies (`hearthctl audit verify`);
- changing, deleting or reordering one stored record with the sqlite3 CLI makes
  `hearthctl audit verify` fail and name it.

test_moderation_pg.py runs the same checks (run_checks) on PostgreSQL.
"""

import asyncio
import contextlib
import json
import os
import shutil
import signal
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
from harness import Sig, err_code, short  # noqa: E402

MOD = {"publish": True, "subscribe": True, "data": True, "moderate": True}
ROOM = "hall"


async def join(srv, room, user, grants=None, device="d"):
    r = srv.admin_ticket(room, user, device=device, grants=grants)
    if r.status != 201:
        raise RuntimeError(f"ticket for {user}: {r.status} {r.text[:200]}")
    s = await Sig.connect(srv.ws_url())
    ack = await s.join(r.json["ticket"], room)
    if ack.get("type") != "ack":
        raise RuntimeError(f"join {user}: {short(ack)}")
    s.participant = ack["data"]["participant"]
    s.user = user
    return s


async def moderate(s, **data):
    return await s.request("moderate", data)


def ticket_status(srv, user, room=ROOM):
    r = srv.admin_ticket(room, user, device="fresh")
    return r.status, ((r.json or {}).get("error") or {}).get("code")


async def test_votes_and_refusals(C, srv):
    m1, m2, m3 = [await join(srv, ROOM, u, MOD) for u in ("m1", "m2", "m3")]
    bob = await join(srv, ROOM, "bob")
    carol = await join(srv, ROOM, "carol")

    # Refusals, each with its code, and the room keeps working.
    cases = [
        (carol, {"action": "kick", "user": "bob"}, "not_moderator"),
        (m1, {"action": "smite", "user": "bob"}, "unknown_action"),
        (m1, {"action": "kick"}, "bad_request"),
        (m1, {"action": "kick", "user": "ghost"}, "target_not_found"),
        (m1, {"action": "mute", "track": "TR_none"}, "unknown_track"),
        (m1, {"action": "timeout", "user": "bob", "duration_s": "long"}, "bad_request"),
        (m1, {"action": "unban", "user": "bob"}, "not_banned"),
    ]
    for who, data, code in cases:
        r = await moderate(who, **data)
        C.eq(f"moderate {json.dumps(data)} by {who.user} -> {code}", err_code(r), code)
    r = await m1.request("vote", {"action_id": "m_0000000000000000", "approve": True})
    C.eq("vote on no vote -> no_such_vote", err_code(r), "no_such_vote")
    r = await carol.request("room.info", {})
    C.eq("the room keeps working after the refusals", r.get("type"), "ack")

    # Kick, then overturn by vote.
    r = await moderate(m1, action="kick", participant=bob.participant["id"], reason="rude")
    C.eq("kick acknowledged", (r.get("data") or {}).get("status"), "done")
    kick_id = (r.get("data") or {}).get("id")
    C.eq("the kick opened a vote", ((r.get("data") or {}).get("vote") or {}).get("state"), "open")
    C.eq("the target is closed with 4008", await bob.wait_close(3), 4008)
    dis = next((m for m in bob.seen if m.get("type") == "disconnect"), {})
    C.eq("the target is told why: kicked", (dis.get("data") or {}).get("reason"), "kicked")
    C.eq("a fresh ticket during the cooldown: 403 kicked", ticket_status(srv, "bob"), (403, "kicked"))
    ev = await m2.wait_type("moderation", 3, lambda m: m["data"].get("event") == "vote.opened")
    C.eq("the other moderators see the vote", ev["data"]["id"], kick_id)
    for who in (m2, m3):
        r = await who.request("vote", {"action_id": kick_id, "approve": False})
        C.eq(f"{who.user} votes no", r.get("type"), "ack")
    ev = await carol.wait_type("moderation", 3, lambda m: m["data"].get("event") == "overturn")
    C.eq("the room is told the kick was overturned", ev["data"]["id"], kick_id)
    C.eq("overturned: a ticket is issued again", ticket_status(srv, "bob")[0], 201)
    bob = await join(srv, ROOM, "bob")
    C("overturned: bob joins again", bob.participant.get("id") is not None)

    # Kick, ratified by a second moderator: the door stays shut.
    r = await moderate(m1, action="kick", user="bob", reason="again")
    kick_id = r["data"]["id"]
    r = await m3.request("vote", {"action_id": kick_id, "approve": True})
    C.eq("ratifying vote acknowledged", r.get("type"), "ack")
    C.eq("ratified: still 403 kicked", ticket_status(srv, "bob"), (403, "kicked"))
    r = await m2.request("vote", {"action_id": kick_id, "approve": False})
    C.eq("a ballot after the decision -> no_such_vote", err_code(r), "no_such_vote")
    for s in (m1, m2, m3, carol):
        await s.close()


async def test_room_policy(C, ctl):
    rc, out, err = await ctl.arun("policy", ROOM, "--timeout-policy", "deny_join", "--ratification", "none",
                                  "--vote-window", "60")
    C("hearthctl policy sets a room's policy", rc == 0 and "deny_join" in out, out + err)
    rc, out, err = await ctl.arun("policy", ROOM, "--ratification", "often")
    C("a bad value: exit 1 (bad_request)", rc == 1 and "bad_request" in out + err, out + err)


async def test_ban_restart_unrevoke(C, srv, ctl):
    rc, out, err = await ctl.arun("ban", "mallory", "--reason", "raid")
    C("hearthctl ban mallory exits 0", rc == 0, out + err)
    C.eq("banned: 403 banned", ticket_status(srv, "mallory", "anywhere"), (403, "banned"))
    rc, out, err = await ctl.arun("ban", "mallory")
    C("banning again: exit 1 (already_banned)", rc == 1 and "already_banned" in out + err, out + err)
    await srv.astop(C)
    srv.start()
    C.eq("the ban survives a restart", ticket_status(srv, "mallory", "anywhere"), (403, "banned"))
    rc, out, err = await ctl.arun("policy", ROOM)
    C("the room's policy survives a restart", rc == 0 and "deny_join" in out and "own policy" in out, out + err)
    rc, out, err = await ctl.arun("policy", ROOM, "--reset")
    C("hearthctl policy --reset: the server's again", rc == 0 and "listen_only" in out, out + err)
    rc, out, err = await ctl.arun("sanctions")
    C("hearthctl sanctions lists it", rc == 0 and "mallory" in out, out + err)
    rc, out, err = await ctl.arun("unban", "mallory")
    C("hearthctl unban exits 0", rc == 0, out + err)
    C.eq("unbanned: a ticket again", ticket_status(srv, "mallory", "anywhere")[0], 201)

    rc, out, err = await ctl.arun("revoke", "user", "alice")
    C("hearthctl revoke user alice", rc == 0, out + err)
    C.eq("revoked: no ticket", srv.dev_ticket(ROOM, "alice").status, 401)
    rc, out, err = await ctl.arun("unrevoke", "user", "alice")
    C("hearthctl unrevoke user alice", rc == 0, out + err)
    C.eq("unrevoked: a ticket again", srv.dev_ticket(ROOM, "alice").status, 201)
    rc, out, err = await ctl.arun("unrevoke", "user", "alice")
    C("unrevoke again: exit 1", rc == 1, out + err)


async def burst(srv, mod, n, acked, stop_at, stats):
    """n ban/unban actions on users no one else touches; acked collects acknowledged ids."""
    for i in range(n):
        action = "ban" if i % 2 == 0 else "unban"
        try:
            r = await moderate(mod, action=action, user=f"{mod.user}-t{i // 2}", reason="burst")
        except (H.Closed, asyncio.TimeoutError, OSError):
            return
        if r.get("type") == "ack":
            acked.append(r["data"]["id"])
            stats["acked"] += 1
            if stats["acked"] == stop_at:
                stats["kill"].set()
        else:
            stats["refused"] += 1


async def test_kill9_burst(C, srv, ctl):
    mods = [await join(srv, "burst", f"mod{i}", MOD) for i in range(4)]
    acked = []
    stats = {"acked": 0, "refused": 0, "kill": asyncio.Event()}
    tasks = [asyncio.create_task(burst(srv, m, 250, acked, 500, stats)) for m in mods]
    await asyncio.wait_for(stats["kill"].wait(), 60)
    srv.proc.send_signal(signal.SIGKILL)
    srv.proc.wait()
    srv.proc = None
    await asyncio.gather(*tasks, return_exceptions=True)
    C.info("burst", f"{len(acked)} acknowledged before kill -9, {stats['refused']} refused")
    C("a burst of 1,000 from 4 moderators was cut by kill -9 midway", 500 <= len(acked) < 1000,
      f"{len(acked)} acknowledged")
    srv.start()
    found = set()
    after = 0
    while True:
        r = srv.admin_events(room="burst", after=after, limit=1000)
        evs = (r.json or {}).get("events") or []
        if not evs:
            break
        for e in evs:
            if e["kind"] in ("moderation.ban", "moderation.unban"):
                found.add((e.get("detail") or {}).get("id"))
        after = evs[-1]["id"]
    missing = [a for a in acked if a not in found]
    C("every acknowledged action is in the audit trail after kill -9", len(missing) == 0, f"missing {missing[:5]}")
    rc, out, err = await ctl.arun("audit", "verify")
    C("the trail verifies after kill -9", rc == 0, out + err)


def tamper_cases(ids):
    """(what, SQL) edits of the chain whose ids in seq order are ids: one record changed, one
    deleted, two reordered. Plain SQL that SQLite and PostgreSQL both take."""
    mid = ids[len(ids) // 2]
    return [
        ("changed", f"UPDATE events SET user_id = 'someone-else' WHERE id = {mid}"),
        ("deleted", f"DELETE FROM events WHERE id = {mid}"),
        ("reordered", f"UPDATE events SET ts_ms = ts_ms + 1, seq = CASE id WHEN {ids[1]} THEN "
                      f"(SELECT seq FROM events WHERE id = {ids[2]}) ELSE (SELECT seq FROM events "
                      f"WHERE id = {ids[1]}) END WHERE id IN ({ids[1]}, {ids[2]})"),
    ]


def tamper(db, sql):
    con = sqlite3.connect(db)
    con.execute(sql)
    con.commit()
    con.close()


async def test_tampering(C, srv, ctl):
    await srv.astop(C)
    db = os.path.join(srv.data_dir, "hearth.db")
    pristine = db + ".pristine"
    shutil.copy(db, pristine)
    con = sqlite3.connect(db)
    ids = [r[0] for r in con.execute("SELECT id FROM events WHERE room = ? ORDER BY seq", (ROOM,))]
    con.close()
    C("the hall chain has records to tamper with", len(ids) >= 5, f"{len(ids)}")
    mid = ids[len(ids) // 2]
    for what, sql in tamper_cases(ids):
        shutil.copy(pristine, db)
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(db + suffix)
        tamper(db, sql)
        srv.start()
        rc, out, err = await ctl.arun("audit", "verify", ROOM)
        C(f"{what} record: hearthctl audit verify exits 1", rc == 1, out + err)
        C(f"{what} record: the report names it", any(str(i) in out for i in (mid, ids[1], ids[2])),
          out + err)
        await srv.astop(C)
    shutil.copy(pristine, db)
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(db + suffix)
    srv.start()
    rc, out, err = await ctl.arun("audit", "verify")
    C("untouched: hearthctl audit verify exits 0", rc == 0, out + err)


# No media here (the Chromium test covers it); a burst of 250 requests per connection
# needs a signaling rate limit above the default 20/s.
SETS = ["media.enabled=false", "signal.rate_per_s=5000", "signal.burst=5000"]


async def run_checks(C, srv, ctl, tampering):
    """Every check of this file on srv; tampering(C, srv, ctl) edits its store's records."""
    await test_votes_and_refusals(C, srv)
    await test_room_policy(C, ctl)
    await test_ban_restart_unrevoke(C, srv, ctl)
    await test_kill9_burst(C, srv, ctl)
    await tampering(C, srv, ctl)


async def main(args, C):
    srv = H.Server(args.build_dir, name="moderation", sets=SETS).start()
    ctl = H.Ctl(args.build_dir, srv)
    await run_checks(C, srv, ctl, test_tampering)
    await srv.astop(C)


if __name__ == "__main__":
    H.run_main("moderation", main)
