#!/usr/bin/python3
"""
Message-level conformance of the signaling protocol (docs/protocol.md), run once per served
version (the range is read from a ticket response and checked against each hello): hello,
envelope rules, malformed messages, join ordering, version-specific messages (ping deprecated in
1 and removed in 2, room.info added in 2), version negotiation, tickets bound to a version,
message size, flooding and the join timeout.
"""

import asyncio
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
from harness import Sig, err_code, short  # noqa: E402

MAX_MSG = 8192
RESERVED = ["track.publish", "track.unpublish"]
# Media and data requests: version 2 on; an empty `data` is a bad request (or, without a media
# engine, media_unavailable), never an unknown type.
MEDIA = {"sdp.offer": 2, "sdp.answer": 2, "ice.candidate": 2, "track.subscribe": 2,
         "track.unsubscribe": 2, "track.pause": 2, "track.resume": 2, "track.layer": 2,
         "track.pin": 2, "data.send": 2}
FLOOD_RATE = 5
FLOOD_BURST = 5
JOIN_TIMEOUT_MS = 500
KA_INTERVAL = 1


class Ctx:
    pass


def has_ping(v):
    return v == 1


def has_room_info(v):
    return v >= 2


def cheap_type(v):
    """A request every joined session may send in this version."""
    return "room.info" if has_room_info(v) else "ping"


_users = iter(range(1, 10 ** 6))


def ticket(srv, room, v, user=None):
    user = user or f"user{next(_users)}"
    r = srv.dev_ticket(room, user, "dev", protocol_version=v)
    if r.status != 201:
        raise RuntimeError(f"ticket {room} v{v}: {r}")
    return r.json


DROP_GRACE_S = 1  # resume.drop_grace_s: a dropped v2 participant leaves after it

async def joined(srv, room, v, user=None):
    t = ticket(srv, room, v, user)
    s = await Sig.connect(srv.ws_url(v))
    ack = await s.join(t["ticket"], room)
    if ack.get("type") != "ack":
        raise RuntimeError(f"join {room} v{v}: {short(ack)}")
    s.participant = (ack.get("data") or {}).get("participant") or {}
    return s


async def cheap(s, v, id=None, extra_data=None):
    """Send the version's cheap request, return its reply (ack/error)."""
    return await s.request(cheap_type(v), dict(extra_data or {}), id=id)


async def next_error(s, timeout=3):
    return await s.wait_type("error", timeout)


async def alive_and_served(s, v):
    try:
        m = await cheap(s, v)
        return m.get("type") == "ack"
    except (asyncio.TimeoutError, H.Closed):
        return False


# -------------------------------------------------------------------------------------------


async def hello(C, ctx, v):
    srv = ctx.srv
    s = await Sig.connect(srv.ws_url(v))
    h = s.hello or {}
    d = h.get("data") or {}
    C.eq(f"v{v} hello: type", h.get("type"), "hello")
    C.eq(f"v{v} hello: version", d.get("version"), v)
    C.eq(f"v{v} hello: versions range", d.get("versions"), {"min": ctx.vmin, "max": ctx.vmax})
    C(f"v{v} hello: server hearth/<version>", str(d.get("server", "")).startswith("hearth/"),
      short(d))
    lim = d.get("limits") or {}
    C.eq(f"v{v} hello: limits", lim, {"max_message_bytes": MAX_MSG, "rate_per_s": 20, "burst": 40,
                                     "join_timeout_ms": 10000, "ping_interval_s": 15})
    await s.close()


async def before_join(C, ctx, v):
    srv = ctx.srv
    s = await Sig.connect(srv.ws_url(v))
    m = await s.request("leave", {}, id="nj1")
    C.eq(f"v{v} before join: leave -> not_joined with the id", (err_code(m), m.get("id")),
         ("not_joined", "nj1"))
    m = await s.request(cheap_type(v), {}, id="nj2")
    C.eq(f"v{v} before join: {cheap_type(v)} -> not_joined", err_code(m), "not_joined")
    C(f"v{v} before join: error has a message", isinstance((m.get("data") or {}).get("message"),
                                                           str), short(m))
    room = f"c{v}-bj"
    t = ticket(srv, room, v)
    m = await s.join(t["ticket"], room, id="j1")
    C.eq(f"v{v}: join after not_joined errors still works (ack, id echoed)",
         (m.get("type"), m.get("id")), ("ack", "j1"))
    m = await s.request("join", {"ticket": "whatever", "room": room}, id="j2")
    C.eq(f"v{v}: second join -> already_joined with the id", (err_code(m), m.get("id")),
         ("already_joined", "j2"))
    C(f"v{v}: connection lives after already_joined", await alive_and_served(s, v))
    t2 = ticket(srv, room, v)
    m = await s.request("join", {"ticket": t2["ticket"], "room": room}, id="j3")
    C.eq(f"v{v}: second join with a valid ticket -> already_joined", err_code(m),
         "already_joined")
    await s.close()


async def bad_request(C, ctx, v):
    srv = ctx.srv
    room = f"c{v}-br"
    s = await Sig.connect(srv.ws_url(v))
    for what, data in (("join without data.ticket", {"room": room}),
                       ("join with a numeric ticket", {"ticket": 5, "room": room}),
                       ("join without data", None)):
        m = await s.request("join", data, id="br")
        C.eq(f"v{v} {what} -> bad_request with the id", (err_code(m), m.get("id")),
             ("bad_request", "br"))
        if s.is_closed or not await s.still_open(0.05):
            C(f"v{v} {what}: connection stays", False, f"close {s.close_code}")
            return
    t = ticket(srv, room, v)
    m = await s.join(t["ticket"], room)
    C.eq(f"v{v} after bad_request errors a valid join still works", m.get("type"), "ack")
    await s.close()


async def room_events(C, ctx, v):
    srv = ctx.srv
    room = f"c{v}-ev"
    a = await joined(srv, room, v, user=f"eva{v}")
    b = await joined(srv, room, v, user=f"ben{v}")
    m = await a.wait_type("participant.joined", 3)
    C.eq(f"v{v} participant.joined for the newcomer",
         ((m.get("data") or {}).get("participant") or {}).get("id"), b.participant.get("id"))
    c = await joined(srv, room, v, user=f"cid{v}")
    await a.wait_type("participant.joined", 3)
    await b.wait_type("participant.joined", 3)

    ack = await b.request("leave", {}, id="lv")
    C.eq(f"v{v} leave -> ack with the id", (ack.get("type"), ack.get("id")), ("ack", "lv"))
    try:
        cc = await b.wait_close(3)
    except asyncio.TimeoutError:
        cc = "still open"
    C.eq(f"v{v} leave -> close 1000", cc, 1000)
    for who, s in (("first", a), ("third", c)):
        m = await s.wait_type("participant.left", 3)
        d = m.get("data") or {}
        C.eq(f"v{v} {who} participant sees participant.left reason left",
             ((d.get("participant") or {}).get("id"), d.get("reason")),
             (b.participant.get("id"), "left"))

    c.ws.transport.abort()  # drop the TCP connection, no close frame
    try:
        # Version 2 holds the seat for the drop window (resume, §2.4); version 1 cannot resume.
        m = await a.wait_type("participant.left", 3 + (DROP_GRACE_S if v >= 2 else 0))
        d = m.get("data") or {}
        C.eq(f"v{v} a dropped connection -> participant.left reason closed",
             ((d.get("participant") or {}).get("id"), d.get("reason")),
             (c.participant.get("id"), "closed"))
    except asyncio.TimeoutError:
        C(f"v{v} a dropped connection -> participant.left reason closed", False, "no event")
    await a.close()


async def envelope(C, ctx, v):
    srv = ctx.srv
    s = await joined(srv, f"c{v}-env", v)

    m = await s.request("foo.bar", {}, id="u1")
    C.eq(f"v{v} unknown type -> unsupported_type with the id", (err_code(m), m.get("id")),
         ("unsupported_type", "u1"))
    C(f"v{v} unknown type: error has a message",
      isinstance((m.get("data") or {}).get("message"), str), short(m))
    C(f"v{v} unknown type: connection lives", await alive_and_served(s, v))
    bad = []
    for t in RESERVED:
        m = await s.request(t, {})
        if err_code(m) != "unsupported_type":
            bad.append((t, short(m, 120)))
    C(f"v{v} reserved media types -> unsupported_type", not bad, str(bad))
    bad = []
    for t, since in MEDIA.items():
        m = await s.request(t, {})
        want = ("unsupported_type",) if v < since else ("bad_request", "media_unavailable")
        if err_code(m) not in want:
            bad.append((t, short(m, 120)))
    C(f"v{v} media requests with empty data -> "
      + ("unsupported_type" if v < 2 else "bad_request / media_unavailable"), not bad, str(bad))
    C(f"v{v} media requests: connection lives", await alive_and_served(s, v))

    ct = cheap_type(v)
    m = await s.request(ct, {"zzz_unknown": [1, 2, {"x": None}]}, id="x1",
                        extra={"unknown_top": {"a": 1}, "also": True})
    C.eq(f"v{v} unknown fields (top level and in data) are ignored -> ack",
         (m.get("type"), m.get("id")), ("ack", "x1"))
    await s.send({"type": ct})
    try:
        m = await s.wait_type("ack", 3)
        C(f"v{v} request without id -> ack without id", "id" not in m or m.get("id") is None,
          short(m))
    except asyncio.TimeoutError:
        C(f"v{v} request without id -> ack without id", False, "no ack")
    m = await s.request(ct, {}, id="i" * 64)
    C.eq(f"v{v} id of 64 bytes is fine and echoed", (m.get("type"), m.get("id")), ("ack", "i" * 64))

    # Exactly one reply per request.
    await s.send({"type": ct, "id": "once"})
    await s.wait_reply("once", 3)
    await s.still_open(0.3)  # read whatever else arrives
    extra = [m for m in s.inbox if m.get("id") == "once" and m.get("type") in ("ack", "error")]
    C(f"v{v} a request gets exactly one reply", not extra, short(extra))
    await s.close()


async def malformed(C, ctx, v):
    srv = ctx.srv
    s = await joined(srv, f"c{v}-mal", v)
    cases = [
        ("not JSON", "this is not json"),
        ("truncated JSON", '{"type": "room.info", "id": "t1"'),
        ("a JSON array", '[{"type": "room.info"}]'),
        ("a JSON string", '"room.info"'),
        ("a JSON number", "42"),
        ("JSON null", "null"),
        ("type missing", '{"id": "m1", "data": {}}'),
        ("type not a string", '{"type": 7, "id": "m2"}'),
        ("type null", '{"type": null, "id": "m3"}'),
        ("id a number", '{"type": "join", "id": 5, "data": {}}'),
        ("id an object", '{"type": "join", "id": {"a": 1}}'),
        ("id over 64 bytes", json.dumps({"type": "join", "id": "x" * 65})),
        ("data an array", '{"type": "join", "id": "m4", "data": []}'),
        ("data a string", '{"type": "join", "id": "m5", "data": "x"}'),
        ("data a number", '{"type": "join", "id": "m6", "data": 1}'),
    ]
    for what, raw in cases:
        await s.send(raw)
        try:
            m = await next_error(s, 3)
            C.eq(f"v{v} malformed ({what}) -> malformed_message", err_code(m), "malformed_message")
            if what.startswith("data a"):
                C.eq(f"v{v} malformed ({what}) -> error echoes the valid id", m.get("id"),
                     json.loads(raw)["id"])
        except (asyncio.TimeoutError, H.Closed) as e:
            C(f"v{v} malformed ({what}) -> malformed_message", False, repr(e))
            if s.is_closed:
                break
    C(f"v{v} connection lives after every malformed message", await alive_and_served(s, v),
      f"close {s.close_code}")
    await s.close()


async def version_specific(C, ctx, v):
    srv = ctx.srv
    room = f"c{v}-ver"
    other = await joined(srv, room, v, user=f"other{v}")
    s = await joined(srv, room, v)
    if has_ping(v):
        t0 = time.time()
        await s.send({"type": "ping", "id": "p1", "data": {}})
        first = await s.wait_for(lambda m: m.get("id") == "p1", 3)
        C.eq(f"v{v} ping -> deprecated notice first, with the id", (first.get("type"),
                                                                     first.get("id")),
             ("deprecated", "p1"))
        d = first.get("data") or {}
        C.eq(f"v{v} deprecated notice data",
             (d.get("message_type"), d.get("deprecated_in"), d.get("removed_in")),
             ("ping", 1, 2))
        C(f"v{v} deprecated notice has a message", isinstance(d.get("message"), str), short(d))
        ack = await s.wait_for(lambda m: m.get("id") == "p1", 3)
        C.eq(f"v{v} ping -> then ack", ack.get("type"), "ack")
        ad = ack.get("data") or {}
        C(f"v{v} ping ack: pong true, server_time_ms now",
          ad.get("pong") is True and isinstance(ad.get("server_time_ms"), int)
          and abs(ad["server_time_ms"] / 1000 - t0) < 5, short(ad))
    else:
        m = await s.request("ping", {}, id="p1")
        C.eq(f"v{v} ping (removed in 2) -> unsupported_type", err_code(m), "unsupported_type")
        C(f"v{v} ping: no deprecated notice", not any(x.get("type") == "deprecated"
                                                      for x in s.seen), short(s.seen))
    if has_room_info(v):
        m = await s.request("room.info", {}, id="ri")
        C.eq(f"v{v} room.info -> ack", (m.get("type"), m.get("id")), ("ack", "ri"))
        room_obj = (m.get("data") or {}).get("room") or {}
        ids = sorted(p.get("id") for p in room_obj.get("participants") or [])
        C.eq(f"v{v} room.info lists everyone including the caller", ids,
             sorted([s.participant.get("id"), other.participant.get("id")]))
        C.eq(f"v{v} room.info name and max_participants",
             (room_obj.get("name"), room_obj.get("max_participants")), (room, 50))
    else:
        m = await s.request("room.info", {}, id="ri")
        C.eq(f"v{v} room.info (added in 2) -> unsupported_type", err_code(m), "unsupported_type")
    await s.close()
    await other.close()


async def negotiation(C, ctx):
    srv = ctx.srv
    for bad in ("99", "0", "abc"):
        s = await Sig.connect(srv.ws_url(bad), read_hello=False)
        m = await s.recv(3)
        C.eq(f"?v={bad} -> error unsupported_version instead of hello", err_code(m),
             "unsupported_version")
        C.eq(f"?v={bad} -> error data carries versions", (m.get("data") or {}).get("versions"),
             {"min": ctx.vmin, "max": ctx.vmax})
        try:
            cc = await s.wait_close(3)
        except asyncio.TimeoutError:
            cc = "still open"
        C.eq(f"?v={bad} -> close 4001", cc, 4001)
    s = await Sig.connect(srv.ws_url(None))
    C.eq("no ?v -> hello with the newest version", (s.hello.get("data") or {}).get("version"),
         ctx.vmax)
    await s.close()
    r = srv.dev_ticket("c-neg", "neg", "d")
    C.eq("ticket without protocol_version -> the newest", (r.json or {}).get("protocol_version"),
         ctx.vmax)


async def ticket_versions(C, ctx, v):
    srv = ctx.srv
    others = [x for x in range(ctx.vmin, ctx.vmax + 1) if x != v]
    for o in others:
        room = f"c{v}-tv"
        t = ticket(srv, room, o)
        C.eq(f"ticket for v{o}: signal_url names v{o}", t.get("signal_url", "").split("?v=")[-1],
             str(o))
        s = await Sig.connect(srv.ws_url(v))
        m = await s.join(t["ticket"], room, id="tv")
        C.eq(f"ticket minted for v{o} used on v{v} -> ticket_wrong_version", err_code(m),
             "ticket_wrong_version")
        try:
            cc = await s.wait_close(3)
        except asyncio.TimeoutError:
            cc = "still open"
        C.eq(f"ticket minted for v{o} used on v{v} -> close 4003", cc, 4003)
    t = ticket(srv, f"c{v}-tv", v)
    s = await Sig.connect(t["signal_url"])
    C.eq(f"ticket for v{v} on its signal_url -> hello v{v}",
         (s.hello.get("data") or {}).get("version"), v)
    C.eq(f"ticket for v{v} on v{v} -> ack", (await s.join(t["ticket"], f"c{v}-tv")).get("type"),
         "ack")
    await s.close()


async def sizes(C, ctx, v):
    srv = ctx.srv
    room = f"c{v}-size"
    keeper = await joined(srv, room, v)
    s = await joined(srv, room, v)
    ct = cheap_type(v)

    base = {"type": ct, "id": "big", "data": {"pad": ""}}
    n = len(json.dumps(base, separators=(",", ":")))
    base["data"]["pad"] = "p" * (MAX_MSG - n)
    exact = json.dumps(base, separators=(",", ":"))
    await s.send(exact)
    m = await s.wait_reply("big", 3)
    C.eq(f"v{v} message of exactly max_message_bytes ({len(exact)}) -> ack", m.get("type"),
         "ack")

    frag = json.dumps({"type": ct, "id": "frag", "data": {"pad": "f" * 1000}})
    third = len(frag) // 3
    await s.send([frag[:third], frag[third:2 * third], frag[2 * third:]])
    m = await s.wait_reply("frag", 3)
    C.eq(f"v{v} fragmented message (3 frames) reassembled -> ack", m.get("type"), "ack")

    over = json.dumps({"type": ct, "id": "over", "data": {"pad": "o" * MAX_MSG}})
    await s.send(over)
    try:
        m = await s.wait_type("error", 3)
        C.eq(f"v{v} message over max_message_bytes -> message_too_large", err_code(m),
             "message_too_large")
    except (asyncio.TimeoutError, H.Closed) as e:
        C(f"v{v} message over max_message_bytes -> message_too_large", False,
          f"{e!r}; seen {short(s.seen[-3:])}")
    try:
        cc = await s.wait_close(3)
    except asyncio.TimeoutError:
        cc = "still open"
    C.eq(f"v{v} message over max_message_bytes -> close 1009", cc, 1009)
    C(f"v{v} another session stays fine after the oversized message",
      await alive_and_served(keeper, v))

    s2 = await joined(srv, room, v)
    chunk = "q" * 2048
    frags = ['{"type":"' + ct + '","id":"of","data":{"pad":"'] + [chunk] * (MAX_MSG // 2048 + 2) \
        + ['"}}']
    try:
        await s2.send(frags)
    except H.Closed:
        pass
    try:
        m = await s2.wait_type("error", 3)
        C.eq(f"v{v} fragmented message over the limit -> message_too_large", err_code(m),
             "message_too_large")
    except (asyncio.TimeoutError, H.Closed) as e:
        C(f"v{v} fragmented message over the limit -> message_too_large", False, repr(e))
    try:
        cc = await s2.wait_close(3)
    except asyncio.TimeoutError:
        cc = "still open"
    C.eq(f"v{v} fragmented message over the limit -> close 1009", cc, 1009)
    C(f"v{v} another session still fine", await alive_and_served(keeper, v))
    await keeper.close()


async def flood(C, ctx, v):
    srv = ctx.flood_srv
    room = f"f{v}"
    a = await joined(srv, room, v, user=f"flooder{v}")
    b = await joined(srv, room, v, user=f"calm{v}")
    ct = cheap_type(v)
    await asyncio.sleep(1.5)  # full buckets

    # Over the rate, briefly: dropped messages get one rate_limited error; no disconnect.
    n1 = FLOOD_BURST + 3
    for i in range(n1):
        await a.send({"type": ct, "id": f"f{i}"})
    await a.still_open(0.8)  # collect the replies
    acks = [m for m in a.inbox if m.get("type") == "ack"]
    rl = [m for m in a.inbox if err_code(m) == "rate_limited"]
    C(f"v{v} flood ({n1} at once, rate {FLOOD_RATE}/s burst {FLOOD_BURST}): the burst is served",
      FLOOD_BURST - 1 <= len(acks) <= FLOOD_BURST + 1, f"{len(acks)} acks")
    C.eq(f"v{v} flood: one rate_limited error (at most one per second)", len(rl), 1)
    C(f"v{v} flood: connection stays after a short burst", not a.is_closed,
      f"close {a.close_code}")
    a.inbox.clear()

    # Sustained flooding: disconnect rate_limited, close 1008; b keeps being served.
    async def flood_on():
        try:
            for i in range(60):
                await a.send({"type": ct, "id": f"g{i}"})
                await asyncio.sleep(0.01)
        except H.Closed:
            pass

    async def calm():
        ok = 0
        for i in range(6):
            m = await b.request(ct, {}, id=f"c{i}", timeout=2)
            ok += m.get("type") == "ack"
            await asyncio.sleep(0.25)
        return ok

    ft = asyncio.ensure_future(flood_on())
    ct_task = asyncio.ensure_future(calm())
    try:
        cc = await a.wait_close(4)
    except asyncio.TimeoutError:
        cc = "still open"
    await ft
    ok = await ct_task
    d = next((m for m in a.seen if m.get("type") == "disconnect"), None)
    C.eq(f"v{v} sustained flood -> disconnect reason rate_limited",
         ((d or {}).get("data") or {}).get("reason"), "rate_limited")
    C.eq(f"v{v} sustained flood -> close 1008", cc, 1008)
    C.eq(f"v{v} while another connection floods, this one's requests get acks", ok, 6)
    await b.close()


async def keepalive(C, ctx):
    """Server pings every ping_interval_s; a peer that answers nothing is closed after 2x."""
    srv = ctx.ka_srv
    v = ctx.vmax
    room = "ka"
    live = await joined(srv, room, v, user="live")
    t = ticket(srv, room, v, user="dead")
    dead = await Sig.connect(srv.ws_url(v), answer_pings=False)
    ack = await dead.join(t["ticket"], room)
    dead_id = ((ack.get("data") or {}).get("participant") or {}).get("id")
    t0 = time.monotonic()
    try:
        await dead.wait_close(KA_INTERVAL * 2 + 3)
        dt = time.monotonic() - t0
        C(f"keep-alive: a peer that answers no ping is closed within ~2 x ping_interval_s "
          f"({KA_INTERVAL} s)", dt <= KA_INTERVAL * 2 + 1.5, f"{dt:.1f} s")
        C.info("keep-alive: dead peer closed after", f"{dt * 1000:.0f} ms")
    except asyncio.TimeoutError:
        C("keep-alive: a peer that answers no ping is closed", False,
          f"still open after {KA_INTERVAL * 2 + 3} s")
    C("keep-alive: the server sent WebSocket pings", dead.ws.pings_seen >= 1,
      f"{dead.ws.pings_seen} pings")
    d = next((m for m in dead.seen if m.get("type") == "disconnect"), None)
    C.eq("keep-alive: dead peer gets disconnect reason timeout before the close",
         ((d or {}).get("data") or {}).get("reason"), "timeout")
    try:
        m = await live.wait_type("participant.left", 2)
        d = m.get("data") or {}
        C.eq("keep-alive: others see participant.left reason timeout",
             ((d.get("participant") or {}).get("id"), d.get("reason")), (dead_id, "timeout"))
    except asyncio.TimeoutError:
        C("keep-alive: others see participant.left reason timeout", False, "no event")
    C("keep-alive: a peer that answers pings stays connected", await live.still_open(0.1)
      and await alive_and_served(live, v), f"close {live.close_code}")
    await live.close()


async def join_timeout(C, ctx, v):
    srv = ctx.flood_srv
    s = await Sig.connect(srv.ws_url(v))
    t0 = time.monotonic()
    try:
        cc = await s.wait_close(5)
    except asyncio.TimeoutError:
        cc = "still open"
    dt = time.monotonic() - t0
    e = next((m for m in s.seen if m.get("type") == "error"), None)
    C.eq(f"v{v} no join within join_timeout_ms -> error join_timeout", err_code(e), "join_timeout")
    C.eq(f"v{v} no join in time -> close 4002", cc, 4002)
    C(f"v{v} join timeout after ~{JOIN_TIMEOUT_MS} ms", 0.3 <= dt <= 2.5, f"{dt * 1000:.0f} ms")
    C.info(f"v{v} join timeout", f"{dt * 1000:.0f} ms")


async def main(args, C):
    ctx = Ctx()
    ctx.srv = H.Server(args.build_dir, "dev", name="conformance",
                       sets=[f"signal.max_message_bytes={MAX_MSG}", "http.rate_per_s=1000",
                             "http.burst=1000", f"resume.drop_grace_s={DROP_GRACE_S}"])
    ctx.flood_srv = H.Server(args.build_dir, "dev", name="flood",
                             sets=[f"signal.rate_per_s={FLOOD_RATE}",
                                   f"signal.burst={FLOOD_BURST}",
                                   f"signal.join_timeout_ms={JOIN_TIMEOUT_MS}",
                                   "http.rate_per_s=1000", "http.burst=1000"])
    ctx.ka_srv = H.Server(args.build_dir, "dev", name="keepalive",
                          sets=[f"signal.ping_interval_s={KA_INTERVAL}", "http.rate_per_s=1000",
                                "http.burst=1000"])
    with C.section("start servers"):
        ctx.srv.start()
        ctx.flood_srv.start()
        ctx.ka_srv.start()
        for s in (ctx.srv, ctx.flood_srv, ctx.ka_srv):
            C(f"{s.name} server answers /healthz with 200",
              s.alive() and s.http("GET", "/healthz").status == 200)
    if ctx.srv.proc is None or ctx.flood_srv.proc is None or ctx.ka_srv.proc is None:
        return
    r = ctx.srv.dev_ticket("c-range", "range", "d")
    vr = (r.json or {}).get("protocol_versions") or {}
    ctx.vmin, ctx.vmax = vr.get("min"), vr.get("max")
    if not C("ticket response carries protocol_versions", isinstance(ctx.vmin, int)
             and isinstance(ctx.vmax, int) and ctx.vmin <= ctx.vmax, short(r.json)):
        return
    C.info("served versions", f"{ctx.vmin}..{ctx.vmax}")
    C("serves at least the current and the previous version (N, N-1)", ctx.vmax - ctx.vmin >= 1,
      f"{ctx.vmin}..{ctx.vmax}")
    with C.section("version negotiation"):
        await negotiation(C, ctx)
    for v in range(ctx.vmin, ctx.vmax + 1):
        for name, fn in (("hello", hello), ("before and after join", before_join),
                         ("bad_request", bad_request), ("room events", room_events),
                         ("envelope", envelope), ("malformed messages", malformed),
                         ("version-specific messages", version_specific),
                         ("tickets bound to a version", ticket_versions),
                         ("message size", sizes), ("flooding", flood),
                         ("join timeout", join_timeout)):
            with C.section(f"v{v}: {name}"):
                await fn(C, ctx, v)
    with C.section("keep-alive"):
        await keepalive(C, ctx)
    with C.section("stop servers"):
        ctx.ka_srv.stop(C, label="keep-alive server: SIGTERM -> exit 0 within 5 s")
        ctx.srv.stop(C, label="conformance server: SIGTERM -> exit 0 within 5 s")
        ctx.flood_srv.stop(C, label="flood server: SIGTERM -> exit 0 within 5 s")


if __name__ == "__main__":
    H.run_main("test_conformance", main)
