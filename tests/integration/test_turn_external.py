#!/usr/bin/python3
"""
External coturn mode (DESIGN §3, docs/connectivity.md): hearthd hands out a real coturn's URLs
with credentials it mints in coturn's `use-auth-secret` form, and that coturn accepts them.

- the ticket response and the join result carry the coturn URL with username
  `<expiry>:<user>` (expiry = now + turn.ttl_s) and the password this test computes itself
  from the shared secret (HMAC-SHA1, base64);
- coturn's turnutils_uclient allocates and relays to an echo peer through that coturn with
  hearth's credential, over UDP and TCP;
- coturn refuses an expired credential (minted with the same secret, expiry in the past) and a
  forged one (another secret);
- a ttl outside 5 min - 24 h is refused at start, and so is external mode without a secret.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
import turn_support as T  # noqa: E402
from harness import Sig  # noqa: E402

SECRET = "shared-with-coturn-0123456789"
ROOM = "lobby"
TTL = 900


async def body(args, C):
    T.require_coturn()
    tmp = H.make_tmp("hx-turn-ext-")
    coturn = T.Coturn(tmp, SECRET)
    peer = T.EchoPeer(tmp)
    try:
        url = f"turn:127.0.0.1:{coturn.port}?transport=udp"
        tcp_url = f"turn:127.0.0.1:{coturn.port}?transport=tcp"
        srv = H.Server(args.build_dir, name="ext", config={"turn": {
            "mode": "external", "urls": f"{url}, {tcp_url}", "secrets": SECRET,
            "ttl_s": TTL}}).start()

        C.section("the ticket response carries coturn with hearth's credential")
        before = int(time.time())
        r = srv.dev_ticket(ROOM, "alice")
        C.eq("ticket minted", r.status, 201)
        entry, turl = T.turn_entry(r.json.get("ice_servers"))
        C("a turn: entry", entry is not None, str(r.json.get("ice_servers")))
        if entry is None:
            return
        C.eq("its URLs are the configured coturn's", entry["urls"], [url, tcp_url])
        user, _, who = entry["username"].partition(":")
        C.eq("username names the user", who, "alice")
        C("expiry is now + turn.ttl_s", before + TTL <= int(user) <= int(time.time()) + TTL,
          entry["username"])
        _, want = T.rest_credential(SECRET, "alice", int(user))
        C.eq("password = base64(HMAC-SHA1(secret, username))", entry["credential"], want)

        C.section("the join result carries a credential too")
        s = await Sig.connect(srv.ws_url(2))
        m = await s.join(r.json["ticket"], ROOM)
        jentry, _ = T.turn_entry((m.get("data") or {}).get("ice_servers"))
        C("join result has the coturn entry", jentry is not None and jentry["urls"] == [url, tcp_url],
          H.short(m))
        await s.close()

        C.section("coturn relays with hearth's credential (UDP, TCP)")
        res = T.uclient(coturn.port, entry["username"], entry["credential"], peer.port)
        C("UDP: allocated and every packet came back", res.relayed, res.tail())
        res = T.uclient(coturn.port, entry["username"], entry["credential"], peer.port, tcp=True)
        C("TCP: allocated and every packet came back", res.relayed, res.tail())
        if jentry:
            # Send indications: what is checked is the credential, and a third run of channels in
            # a row once met coturn's "cannot use the same channel number with different peer"
            # (2026-12-07, CI; a coturn/uclient race on a retransmitted ChannelBind).
            res = T.uclient(coturn.port, jentry["username"], jentry["credential"], peer.port,
                            send=True)
            C("the join result's credential relays too", res.relayed, res.tail())

        C.section("coturn refuses expired and forged credentials")
        old_user, old_pw = T.rest_credential(SECRET, "alice", int(time.time()) - 60)
        res = T.uclient(coturn.port, old_user, old_pw, peer.port, timeout=15)
        C("expired: refused", res.refused, res.tail())
        fu, fp = T.rest_credential("not-the-shared-secret-xyz", "alice", int(time.time()) + 600)
        res = T.uclient(coturn.port, fu, fp, peer.port, timeout=15)
        C("forged: refused", res.refused, res.tail())
        srv.stop(C)

        C.section("configurations refused at start")
        for cfg, why in [({"ttl_s": 299}, "turn.ttl_s must be 300..86400"),
                         ({"ttl_s": 86401}, "turn.ttl_s must be 300..86400"),
                         ({"mode": "external", "urls": url}, "needs turn.urls and turn.secrets")]:
            bad = H.Server(args.build_dir, name="bad", config={"turn": cfg})
            rc, out = bad.run_once(args=["--check-config"])
            C(f"{cfg} refused", rc != 0 and why in out, f"rc={rc} {out[-200:]}")
    finally:
        peer.stop()
        coturn.stop()


if __name__ == "__main__":
    H.run_main("external coturn: hearth's credentials", body)
