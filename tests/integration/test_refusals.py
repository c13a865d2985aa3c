#!/usr/bin/python3
"""
Every refusal is answered and audited, against a real hearthd (dev profile):

- a join refused for any reason (a forged ticket, an expired one, one for another room or another
  protocol version, a replayed one, revoked credentials, a full room) closes with 4003 and leaves
  one `auth.failure` audit record with its code and, once the ticket opened, the ticket's room,
  user, device and sid;
- a ticket request whose Authorization header is far over the token limit (137 KB, beyond
  libwebsockets' header buffer) is answered 401 `token_too_large` and audited, instead of the
  connection being dropped without an answer; the connection's next request is served.
"""

import asyncio
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
from harness import Sig, err_code, short  # noqa: E402

TTL_S = 2
HUGE = 137 * 1024


def failures(srv, code):
    r = srv.admin_events(kind="auth.failure", limit=1000)
    return [e for e in (r.json or {}).get("events", []) if e.get("code") == code]


async def refused(C, srv, what, ticket, room, code, version=2, who=None):
    """Join with `ticket` on a fresh connection: expect `code`, close 4003, one audit record."""
    before = len(failures(srv, code))
    s = await Sig.connect(srv.ws_url(version))
    m = await s.join(ticket, room)
    C.eq(f"{what}: join refused with {code}", err_code(m), code)
    C.eq(f"{what}: closed with 4003", await s.wait_close(3), 4003)
    recs = failures(srv, code)
    C.eq(f"{what}: one more auth.failure record with code {code}", len(recs) - before, 1)
    if recs and who is not None:
        e = recs[-1]
        C.eq(f"{what}: the record names the ticket's room/user/device/sid",
             (e.get("room"), e.get("user"), e.get("device"), e.get("sid")), who)


def ticket(srv, user, room="lobby", device="laptop", sid=None, protocol_version=None):
    r = srv.admin_ticket(room, user, device=device, sid=sid, protocol_version=protocol_version)
    if r.status != 201:
        raise RuntimeError(f"ticket for {user}: {r}")
    return r.json["ticket"]


async def joins(C, srv):
    await refused(C, srv, "forged ticket", "not-a-ticket", "lobby", "ticket_invalid")

    t = ticket(srv, "erin", sid="sid-e")
    await asyncio.sleep(TTL_S + 0.3)
    await refused(C, srv, "expired ticket", t, "lobby", "ticket_expired",
                  who=("lobby", "erin", "laptop", "sid-e"))

    t = ticket(srv, "walt", sid="sid-w")
    await refused(C, srv, "ticket for another room", t, "annex", "ticket_wrong_room",
                  who=("lobby", "walt", "laptop", "sid-w"))

    t = ticket(srv, "vera", sid="sid-v", protocol_version=1)
    await refused(C, srv, "ticket for protocol 1 on a v2 connection", t, "lobby",
                  "ticket_wrong_version", who=("lobby", "vera", "laptop", "sid-v"))

    t = ticket(srv, "rory", sid="sid-r")
    r = await srv.aadmin("POST", "/revocations", {"sid": "sid-r"})
    C.eq("revoke sid-r -> 201", r.status, 201)
    await refused(C, srv, "revoked sid", t, "lobby", "session_revoked",
                  who=("lobby", "rory", "laptop", "sid-r"))

    # The room holds one (rooms.max_participants=1): alice fills it.
    alice = await Sig.connect(srv.ws_url(2))
    t = ticket(srv, "alice", sid="sid-a")
    ack = await alice.join(t, "lobby")
    C.eq("alice joins", ack.get("type"), "ack")
    await refused(C, srv, "replayed ticket", t, "lobby", "ticket_replayed",
                  who=("lobby", "alice", "laptop", "sid-a"))
    r = srv.admin_events(kind="ticket.replay")
    C.eq("the replay keeps its ticket.replay record", len((r.json or {}).get("events", [])), 1)

    t = ticket(srv, "bob", device="phone", sid="sid-b")
    await refused(C, srv, "full room", t, "lobby", "room_full",
                  who=("lobby", "bob", "phone", "sid-b"))
    C("alice is still in", await alice.still_open(0.2), short(alice.seen))
    await alice.close()


def huge_authorization(C, srv):
    before = len(failures(srv, "token_too_large"))
    hdr = {"Authorization": "Bearer " + "x" * HUGE}
    r = srv.http("POST", "/v1/join-tickets", {"room": "lobby"}, hdr)
    C.eq("137 KB Authorization: 401", r.status, 401)
    C.eq("137 KB Authorization: code token_too_large", r.error_code, "token_too_large")
    recs = failures(srv, "token_too_large")
    C.eq("137 KB Authorization: one auth.failure record", len(recs) - before, 1)
    C.eq("the record names the room asked for", recs[-1].get("room") if recs else None, "lobby")

    # Raw, on one connection: the answer, then the next request on the same connection.
    body = b'{"room":"lobby"}'
    big = (b"POST /v1/join-tickets HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           b"Content-Length: %d\r\nAuthorization: Bearer " % len(body) + b"y" * HUGE
           + b"\r\n\r\n" + body)
    small = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    with socket.create_connection(("127.0.0.1", srv.port), timeout=5) as s:
        s.sendall(big)
        got = b""
        deadline = time.monotonic() + 5
        while b"token_too_large" not in got and time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
        C("raw 137 KB Authorization: answered 401 token_too_large",
          got.startswith(b"HTTP/1.1 401") and b"token_too_large" in got, got[:200])
        s.sendall(small)
        got = b""
        while b"\r\n\r\n" not in got and time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
        C("the same connection serves the next request", got.startswith(b"HTTP/1.1 200"),
          got[:200])

    # A token just over the limit is the same refusal (no libwebsockets overflow involved).
    r = srv.http("POST", "/v1/join-tickets", {"room": "lobby"},
                 {"Authorization": "Bearer " + "x" * 9000})
    C.eq("9 KB Authorization: 401 token_too_large", (r.status, r.error_code),
         (401, "token_too_large"))


async def body(args, C):
    srv = H.Server(args.build_dir, profile="dev",
                   sets=[f"auth.ticket_ttl_s={TTL_S}", "rooms.max_participants=1"]).start()
    with C.section("joins refused and audited"):
        await joins(C, srv)
    with C.section("a huge Authorization header"):
        huge_authorization(C, srv)
    C.eq("hearthd still ready", srv.http("GET", "/readyz").status, 200)
    srv.stop(C)


if __name__ == "__main__":
    H.run_main("refusals are answered and audited", body)
