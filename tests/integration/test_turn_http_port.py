#!/usr/bin/python3
"""
TURN on the HTTP listener's port (turn.on_http_port; docs/connectivity.md "Only 443"), with the
embedded TURN server's own listeners off so that port is the only way in:

- with TLS on the listener: coturn's turnutils_uclient allocates and relays over TURN-over-TLS to
  hearthd's https port (-t -S), with the credential the ticket response hands out, whose TURN URL
  is `turns:127.0.0.1:<https port>?transport=tcp`; the same port still serves https (a ticket) and
  wss (a join) meanwhile;
- without TLS: TURN over plain TCP on the HTTP port relays too (URL `turn:...:<port>?transport=tcp`);
- the first bytes decide and garbage is closed: random bytes, plaintext
  HTTP on the TLS port (answered 400 "use https://") all end their own connection only, and the
  server goes on serving; hearth_turn_http_port_connections_total counted the TURN ones;
- with turn.on_http_port = false no TURN URL names the HTTP port and TURN bytes on it are closed.
"""

import os
import socket
import ssl
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import edge_support as E  # noqa: E402
import harness as H  # noqa: E402
import turn_support as T  # noqa: E402
from harness import Sig  # noqa: E402

ROOM = "lobby"
ONLY_HTTP_PORT = ["turn.udp_port=-1", "turn.tcp_port=-1", "turn.tls_port=-1",
                  "turn.allow_peers=127.0.0.1"]


def first_bytes(port, data, tls_ctx=None, timeout=3):
    """Connect, send data, read until the server closes: the bytes it answered (or None: open)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    if tls_ctx:
        s = tls_ctx.wrap_socket(s, server_hostname="127.0.0.1")
    out = b""
    try:
        s.sendall(data)
        while True:
            b = s.recv(4096)
            if not b:
                return out
            out += b
    except (socket.timeout, TimeoutError):
        return None
    except (ConnectionResetError, ssl.SSLError, BrokenPipeError):
        return out
    finally:
        s.close()


async def body(args, C):
    T.require_coturn()
    tmp = H.make_tmp("hx-turn-http-")
    peer = T.EchoPeer(tmp)
    crt, key = E.make_cert(tmp, "srv", "localhost")
    try:
        C.section("TLS listener: TURN over TLS on the https port")
        srv = H.Server(args.build_dir, name="tls", sets=ONLY_HTTP_PORT + [
            f"tls.cert_file={crt}", f"tls.key_file={key}"])
        srv.ssl_context = E.trusting(crt)
        srv.start()
        r = srv.dev_ticket(ROOM, "alice")
        C.eq("a ticket over https", r.status, 201)
        entry, url = T.turn_entry(r.json.get("ice_servers"), "turns:")
        C.eq("the TURN URL is the https port's", url,
             f"turns:127.0.0.1:{srv.port}?transport=tcp")
        urls = entry.get("urls") if entry else []
        C("no other TURN URL (the dedicated listeners are off)", urls == [url], str(urls))
        if entry:
            res = T.uclient(srv.port, entry["username"], entry["credential"], peer.port, tls=True)
            C("uclient over TLS on the https port: allocated, every packet came back", res.relayed,
              res.tail())
            res = T.uclient(srv.port, entry["username"], entry["credential"], peer.port, tls=True,
                            send=True)
            C("... and with Send/Data indications", res.relayed, res.tail())
        s = await Sig.connect(srv.ws_url(2), ssl=srv.ssl_context)
        m = await s.join(srv.dev_ticket(ROOM, "bob").json["ticket"], ROOM)
        C.eq("wss on the same port still joins", m.get("type"), "ack")
        await s.close()

        C.section("first bytes that are neither: closed, nobody else disturbed")
        ctx = ssl.create_default_context(cafile=crt)
        got = first_bytes(srv.port, os.urandom(64), ctx)
        C("random bytes after TLS: closed", got is not None, repr(got))
        got = first_bytes(srv.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        C("plaintext HTTP on the TLS port: 400, use https", got is not None and b" 400 " in got
          and b"https://" in got, repr(got)[:200])
        got = first_bytes(srv.port, b"\x01\x01\x00\x00\x21\x12\xa4\x42" + os.urandom(12))
        C("plaintext STUN on the TLS port: closed", got is not None, repr(got))
        C.eq("still serving https", srv.http("GET", "/healthz").status, 200)
        ms = srv.metric_samples()
        n = ms.get(("hearth_turn_http_port_connections_total", frozenset()))
        C("hearth_turn_http_port_connections_total counted the TURN connections",
          n is not None and n >= 2, str(n))
        srv.stop(C)

        C.section("plain listener: TURN over TCP on the HTTP port")
        srv = H.Server(args.build_dir, name="plain", sets=ONLY_HTTP_PORT).start()
        r = srv.dev_ticket(ROOM, "carol")
        entry, url = T.turn_entry(r.json.get("ice_servers"))
        C.eq("the TURN URL is the HTTP port's", url, f"turn:127.0.0.1:{srv.port}?transport=tcp")
        if entry:
            res = T.uclient(srv.port, entry["username"], entry["credential"], peer.port, tcp=True)
            C("uclient over TCP on the HTTP port relays", res.relayed, res.tail())
        C.eq("still serving http", srv.http("GET", "/healthz").status, 200)
        srv.stop(C)

        C.section("turn.on_http_port = false: the HTTP port is HTTP only")
        srv = H.Server(args.build_dir, name="off", sets=ONLY_HTTP_PORT + [
            "turn.on_http_port=false"]).start()
        r = srv.dev_ticket(ROOM, "dave")
        entry, url = T.turn_entry(r.json.get("ice_servers"))
        C("no TURN URL at all (every TURN listener is off)", entry is None, str(url))
        user, pw = T.rest_credential("x" * 16, "dave", 2000000000)
        res = T.uclient(srv.port, user, pw, peer.port, tcp=True, timeout=15)
        C("TURN bytes on the HTTP port get nowhere", res.refused, res.tail())
        srv.stop(C)
    finally:
        peer.stop()


if __name__ == "__main__":
    H.run_main("TURN on the HTTP listener's port", body)
