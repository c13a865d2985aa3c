#!/usr/bin/python3
"""
hearthd's embedded TURN server (turn.mode = embedded, the default; docs/turn.md) driven by coturn's
own client, turnutils_uclient, relaying to turnutils_peer (a UDP echo peer) on 127.0.0.1:

- `turn.ready` names the UDP, TCP and TLS ports the kernel picked, and the dev ticket's
  ice_servers name the same ports with a credential this test recomputes (HMAC-SHA1 in Python);
- with turn.allow_peers = 127.0.0.1, uclient relays over UDP (with the ticket's credential;
  channels, then Send/Data indications), TCP and TLS (a self-signed certificate made with the
  openssl CLI, tls.cert_file/tls.key_file), and over TLS on the https port when the ticket's
  turns: URL names it (turn.on_http_port: the HTTP listener hands the stream to TURN with
  hx_turn_adopt_stream): every packet comes back;
- an expired credential and one signed with another secret are refused (exit 255, no packet);
- SIGHUP swaps the TLS certificate for new connections, and a broken file keeps the old one;
- /metrics: allocations, relayed packets and bytes, auth failures moved by what happened;
- a second hearthd without the allow list refuses the loopback peer (ChannelBind 403, nothing
  echoed, refused-peers counter) and a user over turn.max_allocations gets 486.

uclient runs with -c (no RTCP allocation: hearth keeps no port reservations, so EVEN-PORT with
the R bit is refused 508). Needs coturn's tools: skipped without them, failed under CI=true.
"""

import os
import re
import shutil
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import edge_support as E  # noqa: E402
import harness as H  # noqa: E402
import turn_support as T  # noqa: E402

SECRET = "embedded-turn-secret-0123456789"
OTHER_SECRET = "not-the-servers-secret-987654"


def ready_ports(srv):
    """The ports of the last `turn.ready` line: {udp, tcp, tls} or None."""
    m = None
    for m in re.finditer(r"turn\.ready .*?udp_port=(-?\d+) tcp_port=(-?\d+) tls_port=(-?\d+)",
                         srv.log_text()):
        pass
    return dict(zip(("udp", "tcp", "tls"), map(int, m.groups()))) if m else None


def metric(srv, name):
    return srv.metric_samples().get((name, frozenset()), 0.0)


def wait_metric(srv, name, pred, timeout=5.0):
    """Poll /metrics (copied from the TURN thread every second) until pred(value); the value."""
    deadline = time.monotonic() + timeout
    v = metric(srv, name)
    while not pred(v) and time.monotonic() < deadline:
        time.sleep(0.2)
        v = metric(srv, name)
    return v


def wait_for(pred, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    return pred()


def body(args, C):
    T.require_coturn()
    tmp = H.make_tmp("hx-turn-emb-")
    crt_a, key_a = E.make_cert(tmp, "a", "hearth-turn-a")
    crt_b, key_b = E.make_cert(tmp, "b", "hearth-turn-b")
    crt, key = os.path.join(tmp, "served.crt"), os.path.join(tmp, "served.key")
    shutil.copy(crt_a, crt)
    shutil.copy(key_a, key)
    peer = T.EchoPeer(tmp)
    try:
        srv = H.Server(args.build_dir, "dev", name="turn", config={
            "turn": {"secrets": SECRET, "allow_peers": "127.0.0.1"},
            "tls": {"cert_file": crt, "key_file": key}})
        srv.ssl_context = E.trusting(crt_a)
        srv.start()

        with C.section("turn.ready names the ports"):
            ports = ready_ports(srv)
            C("a turn.ready line with ports", ports is not None, srv.log_tail(5))
            if ports is None:
                return
            C("UDP, TCP and TLS are listening on kernel-picked ports",
              all(p > 0 for p in ports.values()), str(ports))

        with C.section("the ticket's ice_servers name the embedded server"):
            before = int(time.time())
            r = srv.dev_ticket("lobby", "alice")
            C.eq("ticket minted", r.status, 201)
            entry, url = T.turn_entry((r.json or {}).get("ice_servers"))
            C("a turn: entry", entry is not None, str((r.json or {}).get("ice_servers")))
            turns_port = None
            if entry is not None:
                C.eq("its turn: URLs are the bound UDP and TCP ports", entry["urls"][:2], [
                    f"turn:127.0.0.1:{ports['udp']}?transport=udp",
                    f"turn:127.0.0.1:{ports['tcp']}?transport=tcp"])
                _, turns = T.turn_entry([entry], "turns:")
                turns_port = T.url_port(turns or "")
                # turn.on_http_port (the default) offers TURN over TLS on the https port instead.
                C("its turns: URL is the TLS listener's or the https port's",
                  turns_port in (ports["tls"], srv.port), str(entry["urls"]))
                expiry, _, who = entry["username"].partition(":")
                C.eq("the username names the user", who, "alice")
                C("its expiry is in the future", int(expiry) > before, entry["username"])
                C.eq("credential = base64(HMAC-SHA1(secret, username))", entry["credential"],
                     T.rest_credential(SECRET, "alice", int(expiry))[1])

        relayed = 0
        with C.section("relaying: UDP with the ticket's credential, channels"):
            user, pw = (entry["username"], entry["credential"]) if entry else \
                T.rest_credential(SECRET, "alice", time.time() + 600)
            res = T.uclient(ports["udp"], user, pw, peer.port)
            C("every packet came back over UDP (channels)", res.relayed,
              f"rc={res.rc} sent={res.sent} received={res.received} lost={res.lost}: {res.tail()}")
            relayed += res.sent + res.received

        fresh = T.rest_credential(SECRET, "bob", time.time() + 600)
        for what, kw in (("UDP, Send/Data indications", {"send": True}),
                         ("TCP", {"tcp": True}),
                         ("TLS", {"tls": True})):
            with C.section(f"relaying: {what}"):
                port = ports["tls"] if kw.get("tls") else ports["tcp"] if kw.get("tcp") else ports["udp"]
                res = T.uclient(port, *fresh, peer.port, **kw)
                C(f"every packet came back over {what}", res.relayed,
                  f"rc={res.rc} sent={res.sent} received={res.received} lost={res.lost}: "
                  f"{res.tail()}")
                relayed += res.sent + res.received

        if turns_port == srv.port:
            with C.section("relaying: TLS on the https port (handed over to TURN)"):
                res = T.uclient(turns_port, *fresh, peer.port, tls=True)
                C("every packet came back over TURN on the https port", res.relayed,
                  f"rc={res.rc} sent={res.sent} received={res.received} lost={res.lost}: "
                  f"{res.tail()}")
                relayed += res.sent + res.received

        with C.section("metrics after relaying"):
            got = wait_metric(srv, "hearth_turn_relayed_packets_total", lambda v: v >= relayed)
            C("relayed packets counted (both ways)", relayed > 0 and got >= relayed,
              f"{got} < {relayed}")
            got = metric(srv, "hearth_turn_relayed_bytes_total")
            C("relayed bytes counted (100-byte messages)", got >= relayed * 100, str(got))
            got = metric(srv, "hearth_turn_allocations_total")
            C("allocations counted (two per uclient run)", got >= 8, str(got))
            auth_before = metric(srv, "hearth_turn_auth_failures_total")

        with C.section("refused credentials"):
            res = T.uclient(ports["udp"], *T.rest_credential(SECRET, "eve", time.time() - 60),
                          peer.port, timeout=20)
            C("an expired credential is refused (exit 255, nothing relayed)",
              res.rc == 255 and res.received == 0 and "Cannot complete Allocation" in res.out,
              f"rc={res.rc}: {res.tail()}")
            res = T.uclient(ports["tcp"], *T.rest_credential(OTHER_SECRET, "eve", time.time() + 600),
                          peer.port, tcp=True, timeout=20)
            C("a credential of another secret is refused (exit 255, nothing relayed)",
              res.rc == 255 and res.received == 0 and "Cannot complete Allocation" in res.out,
              f"rc={res.rc}: {res.tail()}")
            got = wait_metric(srv, "hearth_turn_auth_failures_total", lambda v: v >= auth_before + 2)
            C("auth failures counted", got >= auth_before + 2, f"{auth_before} -> {got}")

        with C.section("SIGHUP swaps the TURN TLS certificate"):
            fp_a, fp_b = E.pem_fingerprint(crt_a), E.pem_fingerprint(crt_b)
            C.eq("TLS serves A", E.served_fingerprint(ports["tls"]), fp_a)
            shutil.copy(crt_b, crt)
            shutil.copy(key_b, key)
            srv.send_signal(signal.SIGHUP)
            got = wait_for(lambda: E.served_fingerprint(ports["tls"]) == fp_b)
            C("after SIGHUP new TLS connections are shown B", got)
            with open(crt, "w") as f:
                f.write("not a certificate\n")
            srv.send_signal(signal.SIGHUP)
            C("a broken certificate file is logged",
              wait_for(lambda: "turn.tls_reload_failed" in srv.log_text()), srv.log_tail(5))
            C.eq("and B keeps serving", E.served_fingerprint(ports["tls"]), fp_b)
            res = T.uclient(ports["tls"], *fresh, peer.port, tls=True)
            C("TLS still relays after the reloads", res.relayed, res.tail())
        srv.stop(C)

        srv2 = H.Server(args.build_dir, "dev", name="turn-strict", config={
            "turn": {"secrets": SECRET, "max_allocations": 2}})
        srv2.start()
        ports2 = ready_ports(srv2) or {"udp": 0}
        with C.section("without the allow list, the loopback peer is refused"):
            res = T.uclient(ports2["udp"], *T.rest_credential(SECRET, "mallory", time.time() + 600),
                          peer.port, timeout=20)
            C("ChannelBind toward 127.0.0.1 -> 403, nothing echoed",
              res.rc != 0 and res.received == 0 and "403" in res.out,
              f"rc={res.rc} received={res.received}: {res.tail()}")
            res = T.uclient(ports2["udp"], *T.rest_credential(SECRET, "mallet", time.time() + 600),
                          peer.port, send=True, timeout=20)
            C("Send indications toward 127.0.0.1 are dropped (only the SFU's ports there)",
              res.received == 0 and res.sent > 0, f"rc={res.rc} sent={res.sent}: {res.tail()}")
            got = wait_metric(srv2, "hearth_turn_refused_peers_total", lambda v: v >= 1)
            C("refused peers counted", got >= 1, str(got))
            C.eq("nothing relayed", metric(srv2, "hearth_turn_relayed_packets_total"), 0.0)

        with C.section("turn.max_allocations per user -> 486"):
            res = T.uclient(ports2["udp"], *T.rest_credential(SECRET, "greedy", time.time() + 600),
                          peer.port, clients=2, send=True, timeout=20)  # (channels stop at 403)
            C("a third allocation for one user is refused 486",
              res.rc != 0 and "486" in res.out, f"rc={res.rc}: {res.tail()}")
            got = wait_metric(srv2, "hearth_turn_quota_refusals_total", lambda v: v >= 1)
            C("quota refusals counted", got >= 1, str(got))
        srv2.stop(C)
    finally:
        peer.stop()


if __name__ == "__main__":
    H.run_main("embedded TURN server (coturn's uclient against hearthd)", body)
