#!/usr/bin/python3
"""
Sessions outlive their connection (docs/protocol.md §2.4), against a real hearthd (dev profile),
with signaling-only clients (media resume is proven in tests/browser/resume.test.mjs):

- the join result carries a resume token; a client whose TCP connection is cut comes back with
  it on a new connection: same participant id, the other participant sees `participant.resumed`
  and no leave or join; the token just used is refused afterwards (`resume_replayed`), a forged
  one is `resume_invalid`; both close 4009 with `rejoin: true`;
- the token rotates (`session.token`), and the rotated one resumes;
- SIGTERM drains: `disconnect` {reason: shutdown, resume: true, retry_after_ms} and close 1001;
  after the restart (same port, same data dir) both clients resume, without a ticket; the same
  after `kill -9`, where nothing was drained;
- past the drop window the room sees `participant.left` (reason `closed`) and the resume is
  `resume_expired`; a ban or a revocation while away gives `banned` / `user_revoked`;
- /metrics counts the outcomes in hearth_reconnects_total;
- `hearthctl drain` drains as SIGTERM does, and the session resumes after the restart.
"""

import asyncio
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
from harness import Sig, err_code  # noqa: E402

ROOM = "lobby"


async def joined(srv, user, device="laptop"):
    r = srv.admin_ticket(ROOM, user, device=device)
    s = await Sig.connect(srv.ws_url(2))
    m = await s.join(r.json["ticket"], ROOM)
    assert m.get("type") == "ack", m
    return s, m["data"]


async def resume(srv, token, media="keep"):
    s = await Sig.connect(srv.ws_url(2))
    m = await s.request("resume", {"token": token, "room": ROOM, "media": media})
    return s, m


def cut(s):
    """The network goes: no close frame, the TCP connection just ends."""
    s.ws.transport.abort()


async def no_leave_or_join(C, what, other, wait=0.3):
    await asyncio.sleep(wait)
    bad = [m for m in other.inbox if m.get("type") in ("participant.left", "participant.joined")]
    C(f"{what}: the other participant saw no leave or join", not bad, str(bad)[:300])


async def refused(C, what, srv, token, code, close=4009):
    s, m = await resume(srv, token)
    C.eq(f"{what}: resume refused with {code}", err_code(m), code)
    C.eq(f"{what}: rejoin: true", (m.get("data") or {}).get("rejoin"), True)
    C.eq(f"{what}: closed with {close}", await s.wait_close(3), close)


def reconnects(srv, outcome):
    """hearth_reconnects_total{outcome=...}, summed over the kinds."""
    return sum(v for (name, labels), v in srv.metric_samples().items()
               if name == "hearth_reconnects_total" and ("outcome", outcome) in labels)


async def drop_and_resume(C, srv):
    C.section("a dropped connection resumes")
    a, ja = await joined(srv, "alice")
    b, jb = await joined(srv, "bob")
    tok = ja.get("resume", {}).get("token")
    C("join result carries a resume token and windows",
      isinstance(tok, str) and ja["resume"].get("drop_grace_s", 0) > 0
      and ja["resume"].get("restart_grace_s", 0) > 0, str(ja.get("resume"))[:200])
    await a.wait_type("participant.joined")
    cut(a)
    await asyncio.sleep(0.3)
    a2, m = await resume(srv, tok)
    C.eq("resume acked", m.get("type"), "ack")
    d = m.get("data") or {}
    C.eq("same participant id", (d.get("participant") or {}).get("id"), ja["participant"]["id"])
    C.eq("resumed: true", d.get("resumed"), True)
    C("a fresh token", isinstance((d.get("resume") or {}).get("token"), str)
      and d["resume"]["token"] != tok)
    C("the room lists bob", [p["user"] for p in d.get("room", {}).get("participants", [])] == ["bob"],
      str(d.get("room"))[:200])
    r = await b.wait_type("participant.resumed", 3)
    C.eq("bob saw participant.resumed for alice", r["data"]["participant"]["id"], ja["participant"]["id"])
    await no_leave_or_join(C, "drop", b)
    info = await a2.request("room.info", {})
    C.eq("the resumed session works (room.info)", info.get("type"), "ack")

    C.section("spent, forged and superseded tokens")
    await refused(C, "the spent token", srv, tok, "resume_replayed")
    forged = tok[:-4] + ("AAAA" if not tok.endswith("AAAA") else "BBBB")
    await refused(C, "a forged token", srv, forged, "resume_invalid")
    await refused(C, "garbage", srv, "not-a-token", "resume_invalid")
    return a2, b, d["resume"]["token"], jb["resume"]["token"], ja["participant"]["id"]


async def take_over(C, srv, a, tok):
    C.section("a resume while the old connection is still open takes the session over")
    a2, m = await resume(srv, tok)
    C.eq("resume acked", m.get("type"), "ack")
    C.eq("the old connection closed with 4004", await a.wait_close(3), 4004)
    return a2, m["data"]["resume"]["token"]


async def rotation(C, srv, a):
    C.section("the token rotates")
    m = await a.wait_type("session.token", 4)
    tok = m["data"]["token"]
    C("session.token carries a token", isinstance(tok, str) and len(tok) > 20)
    return tok


async def restart(C, srv, a, b, ta, tb, pid, sig):
    name = signal.Signals(sig).name
    C.section(f"restart with {name}")
    if sig == signal.SIGTERM:
        loop = asyncio.get_running_loop()
        fut = loop.run_in_executor(None, lambda: srv.restart(sig, C))
        m = await a.wait_type("disconnect", 3)
        d = m.get("data") or {}
        C.eq("drain: disconnect reason shutdown", d.get("reason"), "shutdown")
        C("drain: resume hint with a delay", d.get("resume") is True
          and isinstance(d.get("retry_after_ms"), int), str(d))
        C.eq("drain: close 1001", await a.wait_close(3), 1001)
        ready = await fut
    else:
        ready = await asyncio.get_running_loop().run_in_executor(None, lambda: srv.restart(sig))
    a2, m = await resume(srv, ta, media="renew")
    C.eq(f"{name}: alice resumed", m.get("type"), "ack")
    C.eq(f"{name}: same participant id", (m.get("data") or {}).get("participant", {}).get("id"), pid)
    C.eq(f"{name}: media renewed", (m.get("data") or {}).get("media"), "renew")
    H.log(f"{name}: resumed {1000 * (time.monotonic() - ready):.0f} ms after ready")
    b2, mb = await resume(srv, tb)
    C.eq(f"{name}: bob resumed", mb.get("type"), "ack")
    ev = await a2.wait_type("participant.resumed", 3)
    C.eq(f"{name}: alice saw bob resume", ev["data"]["participant"]["user"], "bob")
    await no_leave_or_join(C, name, a2)
    return a2, b2, m["data"]["resume"]["token"], mb["data"]["resume"]["token"]


async def admin_drain(C, build):
    C.section("hearthctl drain (POST /v1/admin/drain) does what SIGTERM does")
    srv = H.Server(build, name="drain").start()
    a, ja = await joined(srv, "gina")
    r = srv.admin("POST", "/nodrain")
    C.eq("an unknown admin path is still 404 (drain is not a prefix match)", r.status, 404)
    rc, out, err = await H.Ctl(build, srv).arun("drain")
    C.eq("hearthctl drain: exit 0", rc, 0)
    C("hearthctl drain: says 1 session told to resume",
      "draining: 1 session told to resume after 500 ms" in out, out + err)
    m = await a.wait_type("disconnect", 3)
    C("drain: disconnect shutdown with a resume hint",
      m["data"].get("reason") == "shutdown" and m["data"].get("resume") is True, str(m)[:200])
    C.eq("drain: close 1001", await a.wait_close(3), 1001)
    t0 = time.monotonic()
    while srv.proc.poll() is None and time.monotonic() - t0 < 8:
        await asyncio.sleep(0.05)
    C.eq("drain: hearthd exited with 0", srv.proc.poll(), 0)
    srv.kill()
    srv.keep_port = True
    srv.start()
    a2, m = await resume(srv, ja["resume"]["token"], media="renew")
    C.eq("after the drain and a restart gina resumed", m.get("type"), "ack")
    srv.stop(C)


async def window_and_sanctions(C, build):
    C.section("past the window; ban and revocation while away")
    srv = H.Server(build, name="short", config={"resume": {"drop_grace_s": 1}}).start()
    a, ja = await joined(srv, "carol")
    b, _ = await joined(srv, "dave")
    cut(a)
    m = await b.wait_type("participant.left", 4)
    C.eq("after the window the room saw carol leave (closed)", m["data"].get("reason"), "closed")
    await refused(C, "after the window", srv, ja["resume"]["token"], "resume_expired")
    C("expired counted", reconnects(srv, "expired") >= 1)

    e, je = await joined(srv, "erin")
    cut(e)
    r = srv.admin("POST", "/moderation", {"action": "ban", "room": ROOM, "user": "erin",
                                          "reason": "test"})
    C("ban erin (admin API)", r.status in (200, 201), str(r.json)[:200])
    await refused(C, "after a ban", srv, je["resume"]["token"], "banned")

    f, jf = await joined(srv, "frank")
    cut(f)
    r = srv.admin("POST", "/revocations", {"user": "frank"})
    C("revoke frank (admin API)", r.status in (200, 201), str(r.json)[:200])
    await refused(C, "after a revocation", srv, jf["resume"]["token"], "user_revoked")
    srv.stop(C)


async def body(args, C):
    srv = H.Server(args.build_dir, config={"resume": {"rotate_s": 2}}).start()
    a, b, ta, tb, pid = await drop_and_resume(C, srv)
    a, ta = await take_over(C, srv, a, ta)
    ta = await rotation(C, srv, a)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        a, b, ta, tb = await restart(C, srv, a, b, ta, tb, pid, sig)
    C("resumes counted on /metrics", reconnects(srv, "resumed") >= 2)
    srv.stop(C)
    await window_and_sanctions(C, args.build_dir)
    await admin_drain(C, args.build_dir)


if __name__ == "__main__":
    H.run_main("resume after drops and restarts", body)
