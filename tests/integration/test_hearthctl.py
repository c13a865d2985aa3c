#!/usr/bin/python3
"""
hearthctl, the operator CLI over the admin API, against a running dev server: help, tickets that
join, the room and participant listings, revoking a live session, the audit events, the audit
trail's verification and export, and the exit status of a bad command.
"""

import asyncio
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
from harness import Sig, short  # noqa: E402

COMMANDS = ["ticket", "rooms", "participants", "revoke", "revocations", "events", "audit",
            "reload-keys", "slo"]


def parse_json(out):
    try:
        return json.loads(out)
    except ValueError:
        return None


async def main(args, C):
    srv = H.Server(args.build_dir, "dev", name="ctl", sets=["http.rate_per_s=1000",
                                                            "http.burst=1000"])
    with C.section("start a dev server"):
        if not C("hearthctl exists", os.path.exists(H.hearthctl_path(args.build_dir)),
                 H.hearthctl_path(args.build_dir)):
            return
        srv.start()
        C.eq("dev server is up: /healthz answers 200", srv.http("GET", "/healthz").status, 200)
    if srv.proc is None:
        return
    ctl = H.Ctl(args.build_dir, srv)

    with C.section("help"):
        rc, out, err = ctl.run("--help", common=False)
        C.eq("hearthctl --help exits 0", rc, 0)
        C("hearthctl --help lists the commands", all(c in out + err for c in COMMANDS),
          (out + err)[:400])
        for c in COMMANDS:
            rc, out, err = ctl.run(c, "--help", common=False)
            C(f"hearthctl {c} --help exits 0 and prints usage", rc == 0 and (out + err).strip(),
              f"exit {rc}: {(out + err)[:200]!r}")
        rc, out, err = ctl.run("help", "revoke", common=False)
        C("hearthctl help revoke exits 0 and shows the revoke usage",
          rc == 0 and "revoke" in out and "sid" in out, f"exit {rc}: {(out + err)[:200]!r}")
        rc, out, err = ctl.run("--version", common=False)
        C("hearthctl --version exits 0", rc == 0 and out.strip(), f"exit {rc}: {out[:100]!r}")

    with C.section("bad usage"):
        rc, out, err = ctl.run("frobnicate")
        C.eq("unknown command exits 2", rc, 2)
        C("unknown command says so on stderr", err.strip() != "", repr(err[:200]))
        rc, out, err = ctl.run("ticket")
        C.eq("ticket without a room exits 2", rc, 2)
        rc, out, err = ctl.run("--url", srv.base_url, "--data-dir", "/nonexistent-hearth-dir",
                               "rooms", common=False)
        C("rooms without a readable admin key fails (non-zero exit, message)",
          rc not in (0, None) and err.strip() != "", f"exit {rc}, stderr {err[:200]!r}")

    u1 = None
    with C.section("ticket -> join, rooms, participants"):
        rc, out, err = await ctl.arun("ticket", "lobby", "--user", "u1", "--json")
        C.eq("ticket lobby --user u1 --json exits 0", rc, 0)
        t = parse_json(out) or {}
        C("ticket --json prints the ticket response",
          isinstance(t.get("ticket"), str) and t.get("room") == "lobby" and t.get("user") == "u1",
          out[:300])
        u1 = await Sig.connect(t.get("signal_url") or srv.ws_url(2))
        ack = await u1.join(t["ticket"], "lobby")
        C.eq("the hearthctl ticket joins", ack.get("type"), "ack")

        rc, out, err = await ctl.arun("rooms")
        C("rooms exits 0 and lists lobby", rc == 0 and "lobby" in out, f"exit {rc}: {out[:300]}")
        rc, out, err = await ctl.arun("participants", "lobby")
        C("participants lobby exits 0 and shows u1", rc == 0 and "u1" in out,
          f"exit {rc}: {out[:300]}")
        rc, out, err = await ctl.arun("participants", "no-such-room")
        C("participants of an unknown room exits non-zero", rc not in (0, None),
          f"exit {rc}: {out[:200]} {err[:200]}")

    with C.section("revoke sid disconnects a live session"):
        rc, out, err = await ctl.arun("ticket", "lobby", "--user", "u2", "--sid", "ctl-sid-1",
                                      "--json")
        t = parse_json(out) if rc == 0 else None
        if not C("ticket --sid exits 0", t is not None, f"exit {rc}: {err[:200]}"):
            r = await srv.aadmin("POST", "/join-tickets", {"room": "lobby", "user": "u2",
                                                           "sid": "ctl-sid-1"})
            t = r.json
        s = await Sig.connect(t.get("signal_url") or srv.ws_url(2))
        ack = await s.join(t["ticket"], "lobby")
        C.eq("session with sid ctl-sid-1 joins", ack.get("type"), "ack")
        rc, out, err = await ctl.arun("revoke", "sid", "ctl-sid-1")
        C.eq("revoke sid ctl-sid-1 exits 0", rc, 0)
        try:
            cc = await s.wait_close(3)
        except asyncio.TimeoutError:
            cc = "still open"
        m = next((m for m in s.seen if m.get("type") == "disconnect"), {})
        C.eq("revoked session: disconnect reason revoked", (m.get("data") or {}).get("reason"),
             "revoked")
        C.eq("revoked session: close 4005", cc, 4005)
        C("u1 (another sid) stays connected", await u1.still_open(0.2))
        r = await srv.aadmin("GET", "/revocations")
        C("the revocation is listed by the admin API",
          any(x.get("kind") == "sid" and x.get("value") == "ctl-sid-1"
              for x in (r.json or {}).get("revocations", [])), short(r.json))

    with C.section("listings as JSON, revocations, unreachable server"):
        rc, out, err = await ctl.arun("rooms", "--json")
        j = parse_json(out) or {}
        C("rooms --json prints the admin API's JSON",
          rc == 0 and any(r.get("name") == "lobby" for r in j.get("rooms", [])), out[:300])
        rc, out, err = await ctl.arun("revocations")
        C("revocations lists sid ctl-sid-1", rc == 0 and "ctl-sid-1" in out, out[:300])
        rc, out, err = await ctl.arun("revoke", "user", "nobody", "--reason", "ctl test")
        C.eq("revoke user exits 0", rc, 0)
        rc, out, err = await ctl.arun("revoke", "sideways", "x")
        C.eq("revoke with an unknown kind exits 2", rc, 2)
        rc, out, err = await ctl.arun("--url", "http://127.0.0.1:1", "--data-dir", srv.data_dir,
                                      "rooms", common=False)
        C.eq("unreachable server exits 3", rc, 3)

    with C.section("events"):
        rc, out, err = await ctl.arun("events", "--kind", "session.join")
        C("events --kind session.join exits 0 and lists u1's join",
          rc == 0 and "session.join" in out and "u1" in out, f"exit {rc}: {out[:400]}")
        C("events --kind session.join lists no other kinds", "session.leave" not in out,
          out[:400])
        rc, out, err = await ctl.arun("events", "--kind", "session.join", "--json")
        evs = (parse_json(out) or {}).get("events") or []
        C("events --json: only session.join, u1 among them",
          rc == 0 and evs and all(e.get("kind") == "session.join" for e in evs)
          and any(e.get("user") == "u1" for e in evs), out[:300])

    with C.section("audit verify, audit export"):
        rc, out, err = await ctl.arun("audit", "verify")
        C("audit verify exits 0 on an untouched store", rc == 0 and out.startswith("ok:"),
          f"exit {rc}: {out[:300]}{err[:200]}")
        rc, out, err = await ctl.arun("audit", "export", "--kind", "session.join")
        lines = [parse_json(line) for line in out.splitlines()]
        C("audit export: one chained JSON object per line, session.join only",
          rc == 0 and lines and all(isinstance(e, dict) and e.get("kind") == "session.join"
                                    and len(e.get("hash") or "") == 64 and e.get("seq", 0) >= 1
                                    for e in lines), f"exit {rc}: {out[:300]}")

    if u1 is not None:
        await u1.close()
    srv.stop(C, label="ctl server: SIGTERM -> exit 0 within 5 s")


if __name__ == "__main__":
    H.run_main("test_hearthctl", main)
