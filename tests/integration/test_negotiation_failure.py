#!/usr/bin/python3
"""
The negotiation failure path (docs/protocol.md §2.2) against a real hearthd: a client that
refuses the server's subscriber offers, and one that never answers them.

For each: the first failure is acknowledged, counted (`hearth_negotiation_failures_total{code}`),
logged (one `negotiation.failed` line with the reason) and audited (`negotiation.failure` with
the code and reason), and the server sends one new offer with a higher revision that does not
reuse removed m-lines; the second failure in a row ends the session with `disconnect`
`negotiation_failed` and close 4007, counted in `hearth_negotiation_rejoins_total`. A client that
answers the retry instead keeps its session. Also: a refusal for a revision nobody waits for is a
`bad_request`, and `error` must be a short string.

The clients speak only signaling (no ICE/DTLS): the subscriber offer they get at join is the
data-channel m-line, which is enough to negotiate over.
"""

import asyncio
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
from harness import Sig, err_code, short  # noqa: E402

OFFER_TIMEOUT_MS = 1000
CONNECT_TIMEOUT_MS = 1500
FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sdp", "fixtures")


def metric(text, name, code=None):
    """The value of a counter (with code="..." when given), 0 when absent."""
    pat = re.escape(name) + (r'\{code="' + re.escape(code) + r'"\}' if code else "") + r" (\S+)"
    m = re.search(r"^" + pat + r"$", text, re.M)
    return float(m.group(1)) if m else 0.0


async def joined(srv, room, user):
    r = await srv.ahttp("POST", "/v1/join-tickets", {"room": room},
                        {"X-User-Id": user, "X-Device-Id": "d1"})
    if r.status != 201:
        raise RuntimeError(f"ticket for {user}: {r}")
    s = await Sig.connect(r.json["signal_url"])
    ack = await s.join(r.json["ticket"], room)
    if ack.get("type") != "ack":
        raise RuntimeError(f"join for {user}: {short(ack)}")
    s.participant = (ack.get("data") or {}).get("participant") or {}
    return s


def detail(ev):
    return json.dumps(ev.get("detail") or {})


def is_sub_offer(m):
    return m.get("type") == "sdp.offer" and (m.get("data") or {}).get("pc") == "subscriber"


async def next_offer(s, timeout=5.0):
    m = await s.wait_for(is_sub_offer, timeout)
    return m["data"]


async def body(args, C):
    srv = H.Server(args.build_dir, sets=[f"media.offer_timeout_ms={OFFER_TIMEOUT_MS}",
                                         f"media.connect_timeout_ms={CONNECT_TIMEOUT_MS}"])
    srv.start()
    m0 = srv.metrics().text

    C.section("a client refuses the subscriber offer")
    a = await joined(srv, "neg", "refuser")
    o1 = await next_offer(a)
    C("the first subscriber offer arrives at join", isinstance(o1.get("sdp"), str), short(o1))
    stale = await a.request("sdp.answer", {"pc": "subscriber", "revision": o1["revision"] + 5,
                                           "error": "x"})
    C.eq("a refusal for another revision is bad_request", err_code(stale), "bad_request")
    bad = await a.request("sdp.answer", {"pc": "subscriber", "revision": o1["revision"],
                                         "error": 42})
    C.eq("a non-string error is bad_request", err_code(bad), "bad_request")
    ack = await a.request("sdp.answer", {"pc": "subscriber", "revision": o1["revision"],
                                         "error": "cannot apply m-line 1"})
    C.eq("the refusal is acknowledged", ack.get("type"), "ack")
    o2 = await next_offer(a)
    C("the server offers again with a higher revision", o2["revision"] > o1["revision"],
      f"{o1['revision']} -> {o2['revision']}")
    v1 = re.search(r"^o=\S+ \S+ (\d+)", o1["sdp"], re.M)
    v2 = re.search(r"^o=\S+ \S+ (\d+)", o2["sdp"], re.M)
    C("the retry's o= version is higher too", v1 and v2 and int(v2.group(1)) > int(v1.group(1)),
      f"{v1 and v1.group(1)} -> {v2 and v2.group(1)}")
    m1 = srv.metrics().text
    C.eq("hearth_negotiation_failures_total{code=offer_refused} rose by 1",
         metric(m1, "hearth_negotiation_failures_total", "offer_refused")
         - metric(m0, "hearth_negotiation_failures_total", "offer_refused"), 1.0)
    lines = [ln for ln in srv.log_text().splitlines() if " negotiation.failed " in ln]
    C("the log has one negotiation.failed line with the reason",
      len(lines) == 1 and "cannot apply m-line 1" in lines[0], lines)
    ev = srv.admin_events(kind="negotiation.failure")
    evs = (ev.json or {}).get("events") or []
    C("the audit trail has negotiation.failure offer_refused with the reason",
      any(e.get("code") == "offer_refused" and "cannot apply m-line 1" in detail(e)
          for e in evs), short(evs, 600))
    C("the audit trail never holds SDP", evs and all("ice-pwd" not in detail(e) for e in evs))
    ack = await a.request("sdp.answer", {"pc": "subscriber", "revision": o2["revision"],
                                         "error": "still cannot"})
    C.eq("the second refusal is acknowledged", ack.get("type"), "ack")
    try:
        code = await a.wait_close(5)
    except asyncio.TimeoutError:
        code = None
    C.eq("the second failure closes the session with 4007", code, 4007)
    d = next((m for m in a.inbox if m.get("type") == "disconnect"), None)
    C.eq("... after disconnect reason negotiation_failed", ((d or {}).get("data") or {})
         .get("reason"), "negotiation_failed")
    m2 = srv.metrics().text
    C.eq("hearth_negotiation_rejoins_total rose by 1",
         metric(m2, "hearth_negotiation_rejoins_total")
         - metric(m0, "hearth_negotiation_rejoins_total"), 1.0)

    C.section("a client never answers")
    b = await joined(srv, "neg2", "silent")
    o1 = await next_offer(b)
    t0 = time.monotonic()
    o2 = await next_offer(b, timeout=OFFER_TIMEOUT_MS / 1000 + 3)
    dt = time.monotonic() - t0
    C("an unanswered offer is replaced after media.offer_timeout_ms",
      o2["revision"] > o1["revision"] and dt >= OFFER_TIMEOUT_MS / 1000 * 0.9,
      f"{dt:.2f} s, revision {o1['revision']} -> {o2['revision']}")
    late = await b.request("sdp.answer", {"pc": "subscriber", "revision": o1["revision"],
                                          "sdp": "v=0\r\n"})
    C.eq("an answer to the timed-out revision is bad_request", err_code(late), "bad_request")
    try:
        code = await b.wait_close(OFFER_TIMEOUT_MS / 1000 + 3)
    except asyncio.TimeoutError:
        code = None
    C.eq("the retry unanswered too: closed with 4007", code, 4007)
    m3 = srv.metrics().text
    C.eq("hearth_negotiation_failures_total{code=answer_timeout} rose by 2",
         metric(m3, "hearth_negotiation_failures_total", "answer_timeout")
         - metric(m0, "hearth_negotiation_failures_total", "answer_timeout"), 2.0)
    ev = srv.admin_events(kind="negotiation.failure")
    evs = (ev.json or {}).get("events") or []
    C("the audit trail has answer_timeout events for the silent user",
      sum(1 for e in evs if e.get("code") == "answer_timeout" and e.get("user") == "silent") == 2,
      short(evs, 600))

    C.section("a client that answers the retry keeps its session")
    c = await joined(srv, "neg3", "recovers")
    o1 = await next_offer(c)
    await c.request("sdp.answer", {"pc": "subscriber", "revision": o1["revision"],
                                   "error": "transient"})
    o2 = await next_offer(c)
    # A well-formed refusal again would end it; a garbage answer is bad_sdp and the offer waits.
    r = await c.request("sdp.answer", {"pc": "subscriber", "revision": o2["revision"],
                                       "sdp": "v=0\r\n"})
    C.eq("a garbage answer to the retry is bad_sdp", err_code(r), "bad_sdp")
    alive = await c.still_open(0.3)
    ack = await c.request("room.info", {}) if alive else {}
    C("the session stays and is served", alive and ack.get("type") == "ack", short(ack))

    C.section("a publisher whose transport never connects leaves no phantom track")
    watcher = await joined(srv, "phantom", "watcher")
    pub = await joined(srv, "phantom", "ghost")
    with open(os.path.join(FIXTURES, "chromium_pub.sdp")) as f:
        offer = f.read()
    r = await pub.request("sdp.offer", {"pc": "publisher", "sdp": offer})
    C("the publisher offer (Chromium's, audio + video + data) is answered",
      r.get("type") == "ack" and "m=video" in ((r.get("data") or {}).get("sdp") or ""), short(r))
    try:
        st = await pub.wait_type("media.state", CONNECT_TIMEOUT_MS / 1000 + 3,
                                 lambda m: (m.get("data") or {}).get("pc") == "publisher")
    except asyncio.TimeoutError:
        st = {}
    sd = st.get("data") or {}
    C("media.state failed with reason connect_timeout after media.connect_timeout_ms",
      sd.get("state") == "failed" and (sd.get("reason") or "").startswith("connect_timeout"),
      short(st))
    info = await watcher.request("room.info", {})  # reads (and keeps) what came before it
    C("room.info lists no track", not ((info.get("data") or {}).get("room") or {}).get("tracks"),
      short(info))
    C("the room never heard of its tracks (no track.published to the watcher)",
      watcher.take("track.published") is None, short(watcher.inbox, 600))
    lines = [ln for ln in srv.log_text().splitlines()
             if " media.transport " in ln and "connect_timeout" in ln]
    C("the log has one media.transport line with the reason", len(lines) == 1, lines)

    for s in (a, b, c, watcher, pub):
        await s.close()
    srv.stop(C)


if __name__ == "__main__":
    H.run_main("negotiation failures: refusal, timeout, retry, rejoin", body)
