#!/usr/bin/python3
"""
What hearthd serves for the demo app (issue 14): `/` and `/demo/` are the same page, the ready
log line names its URL, the CSP lets the page fetch tickets from another hearthd (its Server
field), and `GET /v1/rooms/public` lists the open rooms with their head counts when
`rooms.public_list` is on (the dev profile's default), answers 404 when it is off (the other
profiles' default, or set off in dev), refuses other methods, and is rate limited per address.
"""

import asyncio
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
from harness import Sig, short  # noqa: E402


async def join(srv, room, user, device="default"):
    r = srv.dev_ticket(room, user, device)
    assert r.status == 201, r
    sig = await Sig.connect(srv.ws_url(2))
    ack = await sig.join(r.json["ticket"], room)
    assert ack.get("type") == "ack", ack
    return sig


def public_rooms(srv):
    return srv.http("GET", "/v1/rooms/public")


async def pages(C, srv):
    root, demo = srv.http("GET", "/"), srv.http("GET", "/demo/")
    hl = {k.lower(): v for k, v in root.headers.items()}
    C.eq("GET / -> 200 text/html", (root.status, hl.get("content-type")),
         (200, "text/html; charset=utf-8"))
    C("GET / is the demo page (the same bytes as /demo/)",
      root.raw == demo.raw and b"/demo/demo.js" in root.raw, short(root.text))
    C.eq("POST / -> 405", srv.http("POST", "/", {}).status, 405)
    csp = hl.get("content-security-policy", "")
    C("the CSP lets the page fetch from another server (connect-src http: https:)",
      re.search(r"connect-src 'self' http: https: ws: wss:", csp) is not None, csp)
    C("the CSP still allows only its own scripts", "script-src 'self';" in csp, csp)
    ready = [ln for ln in srv.log_text().splitlines() if "server.ready" in ln]
    want = f"demo=http://127.0.0.1:{srv.port}/"
    C("server.ready names the demo URL", ready and want in ready[-1], short(ready))


async def listing(C, srv):
    C.eq("no rooms yet -> 200 {rooms: []}", tuple(public_rooms(srv)), (200, {"rooms": []}))
    a = await join(srv, "lobby", "alice")
    b = await join(srv, "lobby", "bob")
    c = await join(srv, "book-club", "carol")
    r = public_rooms(srv)
    C.eq("three in two rooms -> both, by name, with their counts", tuple(r),
         (200, {"rooms": [{"room": "book-club", "participants": 1},
                          {"room": "lobby", "participants": 2}]}))
    # the same user on two devices is two participants (the demo's tabs)
    d = await join(srv, "lobby", "bob", device="tab-2")
    C.eq("bob on a second device -> lobby counts 3",
         public_rooms(srv).json["rooms"][1], {"room": "lobby", "participants": 3})
    await c.request("leave")
    ok = H.wait_until(
        lambda: [x["room"] for x in public_rooms(srv).json["rooms"]] == ["lobby"], 5)
    C("a room nobody is in is not listed (while it waits to close)", ok,
      short(public_rooms(srv).json))
    C.eq("POST /v1/rooms/public -> 405",
         (lambda r: (r.status, r.error_code))(srv.http("POST", "/v1/rooms/public", {})),
         (405, "method_not_allowed"))
    for s in (a, b, d):
        await s.request("leave")


async def off(C, args):
    srv = H.Server(args.build_dir, "dev", name="rooms-off", sets=["rooms.public_list=false"])
    srv.start()
    s = await join(srv, "lobby", "alice")
    r = public_rooms(srv)
    C.eq("rooms.public_list = false -> 404 not_found", (r.status, r.error_code), (404, "not_found"))
    C("... saying nothing of the rooms", "lobby" not in r.text, r.text)
    C.eq("... for POST too", srv.http("POST", "/v1/rooms/public", {}).status, 404)
    C.eq("the demo is still served at /", srv.http("GET", "/").status, 200)
    await s.request("leave")
    await srv.astop(C, label="rooms-off server stops")


async def rate_limited(C, args):
    srv = H.Server(args.build_dir, "dev", name="rooms-rate",
                   sets=["http.rate_per_s=2", "http.burst=2"])
    srv.start()
    await asyncio.sleep(1.2)  # the bucket refills after the readiness polling
    statuses = [public_rooms(srv).status for _ in range(8)]
    C("rate limited like the other /v1/ routes: 8 quick requests -> some 429",
      statuses[0] == 200 and statuses.count(429) >= 4, str(statuses))
    await srv.astop(C, label="rooms-rate server stops")


async def main(args, C):
    srv = H.Server(args.build_dir, "dev", name="demo-routes")
    with C.section("start (dev profile: rooms.public_list on)"):
        srv.start()
    with C.section("/ is the demo app"):
        await pages(C, srv)
    with C.section("GET /v1/rooms/public"):
        await listing(C, srv)
    await srv.astop(C, label="dev server stops")
    with C.section("rooms.public_list = false"):
        await off(C, args)
    with C.section("rate limit"):
        await rate_limited(C, args)


if __name__ == "__main__":
    H.run_main("test_demo_routes", main)
