#!/usr/bin/python3
"""
hearthd behind a real nginx (Debian's /usr/sbin/nginx, its own prefix dir, stopped by PID):
nginx proxies HTTP and WebSocket with X-Forwarded-For and talks to hearthd from 127.0.0.5
(proxy_bind), and hearthd trusts exactly that address (http.trusted_proxies = 127.0.0.5).

- clients reach nginx from 127.0.0.2 and 127.0.0.3: exhausting the HTTP rate limit
  (http.rate_per_s = 1, http.burst = 5) from .2 does not limit .3;
- the audit trail (ticket.issue, session.join) shows each client's own address;
- http.max_conns_per_addr (3) counts each client behind the proxy: .2's 4th WebSocket through
  nginx is answered 429 too_many_connections, .3 still connects;
- a client talking to hearthd directly (127.0.0.4) with a forged X-Forwarded-For is limited and
  audited under its socket address.
"""

import asyncio
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import edge_support as E  # noqa: E402
import harness as H  # noqa: E402
from harness import Sig  # noqa: E402

# The nginx configuration docs/connectivity.md shows ("Behind a proxy"); @...@ filled in here.
NGINX_CONF = """
@USER@
worker_processes 1;
error_log @DIR@/logs/error.log info;
events { worker_connections 256; }
http {
    access_log @DIR@/logs/access.log;
    client_body_temp_path @DIR@/tmp/body;
    proxy_temp_path @DIR@/tmp/proxy;
    fastcgi_temp_path @DIR@/tmp/fastcgi;
    uwsgi_temp_path @DIR@/tmp/uwsgi;
    scgi_temp_path @DIR@/tmp/scgi;

    map $http_upgrade $connection_upgrade {
        default upgrade;
        ''      close;
    }
    server {
        listen 127.0.0.1:@PORT@;
        location / {
            proxy_pass http://127.0.0.1:@HEARTH_PORT@;
            proxy_http_version 1.1;
            proxy_bind 127.0.0.5;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_read_timeout 1h;
        }
    }
}
"""

RATE, BURST, MAX_CONNS = 1, 5, 3


def tickets_from(src, port, user, n, headers=None):
    """n ticket requests from src to port; their statuses."""
    out = []
    for i in range(n):
        h = {"X-User-Id": user}
        h.update(headers or {})
        r = E.request_from(src, port, E.get_request("/v1/join-tickets", h, "POST",
                                                    b'{"room":"proxied"}'))
        out.append(r.status if r else None)
    return out


def ticket_from(src, port, user):
    hdrs = {"X-User-Id": user, "Host": f"127.0.0.1:{port}"}  # the signal_url follows Host
    r = E.request_from(src, port, E.get_request("/v1/join-tickets", hdrs, "POST",
                                                b'{"room":"proxied"}'))
    return r.json if r and r.status == 201 else None


async def main(args, C):
    E.require("/usr/sbin/nginx", "nginx")
    srv = H.Server(args.build_dir, "dev", name="proxied",
                   sets=["http.trusted_proxies=127.0.0.5", f"http.rate_per_s={RATE}",
                         f"http.burst={BURST}", f"http.max_conns_per_addr={MAX_CONNS}"])
    ngx = None
    with C.section("start hearthd and nginx"):
        srv.start()
        conf = NGINX_CONF.replace("@HEARTH_PORT@", str(srv.port)).replace(
            "@USER@", "user root;" if os.geteuid() == 0 else "")
        ngx = E.Nginx(conf).start()
        r = E.request_from("127.0.0.2", ngx.port, E.get_request("/healthz"))
        C.eq("GET /healthz through nginx -> 200", r and r.status, 200)
    if srv.proc is None or ngx is None:
        return
    sigs = []
    try:
        with C.section("rate limits per client behind the proxy"):
            codes2 = tickets_from("127.0.0.2", ngx.port, "u2", BURST + 3)
            C("127.0.0.2 through nginx: the first tickets pass", codes2[0] == 201, str(codes2))
            C("127.0.0.2 through nginx: rate limited (429) after its burst",
              429 in codes2 and codes2[-1] == 429, str(codes2))
            codes3 = tickets_from("127.0.0.3", ngx.port, "u3", 2)
            C.eq("127.0.0.3 through nginx right after: not limited", codes3, [201, 201])

        with C.section("a forged X-Forwarded-For straight to hearthd"):
            forged = {"X-Forwarded-For": "127.0.0.3"}
            codes4 = tickets_from("127.0.0.4", srv.port, "u4", BURST + 3, forged)
            C("127.0.0.4 direct, claiming to be 127.0.0.3: limited as itself",
              codes4[0] == 201 and codes4[-1] == 429, str(codes4))
            C.eq("127.0.0.3 through nginx is still not limited", tickets_from(
                "127.0.0.3", ngx.port, "u3", 1), [201])

        with C.section("WebSocket joins through nginx"):
            await asyncio.sleep(1.5)  # a token or so back for .2
            for src, user in (("127.0.0.2", "u2"), ("127.0.0.3", "u3")):
                t = ticket_from(src, ngx.port, user + "-ws")
                if not C(f"ticket for {src} through nginx", t is not None):
                    continue
                C(f"signal_url points at nginx ({src})",
                  f"127.0.0.1:{ngx.port}/" in t["signal_url"], t["signal_url"])
                s = await Sig.connect(t["signal_url"], local_addr=(src, 0))
                sigs.append(s)
                ack = await s.join(t["ticket"], "proxied")
                C.eq(f"join through nginx from {src} -> ack", ack.get("type"), "ack")
            t = ticket_from("127.0.0.4", srv.port, "u4-ws")
            if C("ticket for 127.0.0.4 direct (its bucket refilled meanwhile)", t is not None):
                s = await Sig.connect(t["signal_url"], local_addr=("127.0.0.4", 0),
                                      headers={"X-Forwarded-For": "127.0.0.3"})
                sigs.append(s)
                ack = await s.join(t["ticket"], "proxied")
                C.eq("direct join from 127.0.0.4 with a forged X-Forwarded-For -> ack",
                     ack.get("type"), "ack")

        with C.section("the audit trail names each client"):
            r = srv.admin_events(kind="ticket.issue", limit=1000)
            issued = {(e.get("user"), (e.get("detail") or {}).get("addr"))
                      for e in (r.json or {}).get("events", [])}
            C("ticket.issue of u2 (via nginx) carries addr 127.0.0.2", ("u2", "127.0.0.2") in issued,
              str(sorted(issued, key=str))[:400])
            C("ticket.issue of u3 (via nginx) carries addr 127.0.0.3", ("u3", "127.0.0.3") in issued)
            C("ticket.issue of u4 (direct, forged header) carries 127.0.0.4, not .3",
              ("u4", "127.0.0.4") in issued and ("u4", "127.0.0.3") not in issued)
            C("no ticket.issue carries the proxy's address",
              all(a != "127.0.0.5" for _, a in issued), str(issued)[:300])
            r = srv.admin_events(kind="session.join", limit=1000)
            joins = {(e.get("user"), (e.get("detail") or {}).get("addr"))
                     for e in (r.json or {}).get("events", [])}
            C("session.join of u2 (via nginx) carries 127.0.0.2", ("u2-ws", "127.0.0.2") in joins,
              str(joins))
            C("session.join of u3 (via nginx) carries 127.0.0.3", ("u3-ws", "127.0.0.3") in joins)
            C("session.join of u4 (direct, forged) carries 127.0.0.4",
              ("u4-ws", "127.0.0.4") in joins)

        with C.section("connections per client behind the proxy"):
            # .2 holds one WebSocket (above); two more reach the limit of 3, the next is 429.
            more = []
            for i in range(MAX_CONNS - 1):
                ws = E.RawWs(ngx.port, src="127.0.0.2")
                more.append(ws)
                C.eq(f"127.0.0.2 WebSocket {i + 2} through nginx -> 101", ws.status, 101)
            ws = E.RawWs(ngx.port, src="127.0.0.2")
            more.append(ws)
            C.eq("127.0.0.2's 4th WebSocket through nginx -> 429", ws.status, 429)
            body = ws.buf
            C("... with error.code too_many_connections", b"too_many_connections" in body or
              b"too_many_connections" in ws.head, repr(body[:200]))
            ws3 = E.RawWs(ngx.port, src="127.0.0.3")
            more.append(ws3)
            C.eq("127.0.0.3 still upgrades through nginx -> 101", ws3.status, 101)
            r = E.request_from("127.0.0.6", ngx.port, E.get_request("/healthz"))
            C.eq("the proxy itself is not limited: another client's /healthz -> 200",
                 r and r.status, 200)
            for w in more:
                w.close()
    finally:
        for s in sigs:
            await s.close()
        ngx.stop()
    C("nginx stopped", ngx.proc.poll() is not None)
    srv.stop(C, label="proxied server: SIGTERM -> exit 0 within 5 s")


if __name__ == "__main__":
    H.run_main("test_proxy_nginx", main)
