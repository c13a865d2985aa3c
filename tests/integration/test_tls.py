#!/usr/bin/python3
"""
TLS on hearthd's listener (tls.cert_file, tls.key_file): https and wss on the one port with a
self-signed certificate made by the openssl CLI; the ticket's signal_url says wss://; SIGHUP with a
second certificate in the same files shows new connections the new one (fingerprints compared)
while an open WebSocket stays up; a broken certificate file on SIGHUP keeps the old one serving
(and is logged); hearthctl talks https with --cacert and $HEARTH_CACERT, and refuses a certificate
it was not told to trust.
"""

import asyncio
import os
import shutil
import signal
import subprocess
import ssl
import sys
import urllib.error

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import edge_support as E  # noqa: E402
import harness as H  # noqa: E402
from harness import Sig  # noqa: E402


async def main(args, C):
    tmp = H.make_tmp("hearth-tls-")
    crt_a, key_a = E.make_cert(tmp, "a", "hearth-a")
    crt_b, key_b = E.make_cert(tmp, "b", "hearth-b")
    crt, key = os.path.join(tmp, "served.crt"), os.path.join(tmp, "served.key")
    shutil.copy(crt_a, crt)
    shutil.copy(key_a, key)
    fp_a, fp_b = E.pem_fingerprint(crt_a), E.pem_fingerprint(crt_b)
    C("the two certificates differ", fp_a != fp_b)

    srv = H.Server(args.build_dir, "dev", name="tls",
                   config={"tls": {"cert_file": crt, "key_file": key}})
    srv.ssl_context = E.trusting(crt_a)
    with C.section("start with TLS"):
        srv.start()
        C("base URL is https", srv.base_url.startswith("https://"), srv.base_url)
    if srv.proc is None:
        return

    with C.section("https"):
        r = srv.http("GET", "/healthz")
        C.eq("GET https://.../healthz -> 200", r.status, 200)
        C.eq("healthz body", (r.json or {}).get("status"), "ok")
        C.eq("the certificate served is A", E.served_fingerprint(srv.port), fp_a)
        # A client that does not trust the certificate fails the handshake: it is TLS for real.
        try:
            H.http(srv.base_url, "GET", "/healthz", context=ssl.create_default_context())
            C("an untrusting client is refused", False, "the request went through")
        except urllib.error.URLError as e:
            C("an untrusting client is refused (certificate verify failed)",
              "CERTIFICATE_VERIFY_FAILED" in str(e) or "certificate verify failed" in str(e),
              str(e))
        # Plain HTTP on the TLS port gets no API answer: it is told to use https (the listener
        # hands non-TLS, non-HTTPS bytes to turn_splice.c, which answers 400).
        try:
            r = H.raw_http(srv.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", timeout=3)
            C("plain http on the TLS port: 400, use https", r.status == 400
              and "https://" in r.text, repr(r))
        except (ConnectionError, OSError, ValueError, IndexError) as e:
            C("plain http on the TLS port: 400, use https", False, f"no answer: {e!r}")

    ws = None
    with C.section("a ticket over https, a wss:// join"):
        t = srv.dev_ticket("tls-room", "alice")
        C.eq("POST /v1/join-tickets over https -> 201", t.status, 201)
        url = (t.json or {}).get("signal_url", "")
        C("the signal_url says wss:// (TLS on, no public_url)", url.startswith("wss://127.0.0.1:"),
          url)
        ws = await Sig.connect(url, ssl=E.trusting(crt_a))
        C.eq("hello over wss", (ws.hello or {}).get("type"), "hello")
        ack = await ws.join(t.json["ticket"], "tls-room")
        C.eq("join over wss -> ack", ack.get("type"), "ack")

    with C.section("SIGHUP with a new certificate"):
        shutil.copy(crt_b, crt)
        shutil.copy(key_b, key)
        srv.send_signal(signal.SIGHUP)
        ok = H.wait_until(lambda: E.served_fingerprint(srv.port) == fp_b, 5)
        C("a new connection is shown certificate B after SIGHUP", ok,
          E.served_fingerprint(srv.port))
        C("the reload is logged", "tls.reloaded" in srv.log_text(), srv.log_tail(5))
        C("the open wss connection stays up", ws is not None and await ws.still_open(0.3))
        r = H.http(srv.base_url, "GET", "/healthz", context=E.trusting(crt_b))
        C.eq("https with B trusted -> 200", r.status, 200)
        t = H.http(srv.base_url, "POST", "/v1/join-tickets", {"room": "tls-room"},
                   {"X-User-Id": "bob"}, context=E.trusting(crt_b))
        bob = await Sig.connect(t.json["signal_url"], ssl=E.trusting(crt_b))
        ack = await bob.join(t.json["ticket"], "tls-room")
        C.eq("a wss join after the reload -> ack", ack.get("type"), "ack")
        await bob.close()

    with C.section("SIGHUP with a broken certificate keeps the old one"):
        with open(crt, "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n")
        srv.send_signal(signal.SIGHUP)
        ok = H.wait_until(lambda: "tls.reload_failed" in srv.log_text(), 5)
        C("the failed reload is logged as an error", ok, srv.log_tail(5))
        C.eq("new connections still get certificate B", E.served_fingerprint(srv.port), fp_b)
        C.eq("https still answers", H.http(srv.base_url, "GET", "/healthz",
                                           context=E.trusting(crt_b)).status, 200)
        # A key that does not match the certificate is refused the same way.
        shutil.copy(crt_a, crt)
        shutil.copy(key_b, key)
        srv.send_signal(signal.SIGHUP)
        ok = H.wait_until(lambda: srv.log_text().count("tls.reload_failed") >= 2, 5)
        C("a mismatched key is refused on SIGHUP", ok and "does not belong" in srv.log_text(),
          srv.log_tail(5))
        C.eq("and B keeps serving", E.served_fingerprint(srv.port), fp_b)
        C("hearthd is still running", srv.alive())

    with C.section("hearthctl over https"):
        ctl = H.Ctl(args.build_dir, srv)
        base = ["--url", srv.base_url, "--data-dir", srv.data_dir]
        rc, out, err = await ctl.arun(*base, "--cacert", crt_b, "rooms", common=False)
        C("hearthctl --cacert B rooms exits 0 and lists tls-room", rc == 0 and "tls-room" in out,
          f"exit {rc}: {out[:200]} {err[:200]}")
        rc, out, err = await ctl.arun(*base, "ticket", "tls-room", "--user", "carol", "--json",
                                      "--cacert", crt_b, common=False)
        C("hearthctl ticket over https (--cacert after the command)",
          rc == 0 and '"signal_url":"wss://' in out.replace(" ", ""), f"exit {rc}: {out[:200]}")
        rc, out, err = await ctl.arun(*base, "rooms", common=False)
        C.eq("without --cacert the self-signed certificate is refused: exit 3", rc, 3)
        C("... saying why", "certificate" in err.lower(), err[:200])
        rc, out, err = await ctl.arun(*base, "--cacert", crt_a, "rooms", common=False)
        C.eq("trusting the old certificate (A) fails: exit 3", rc, 3)
        env = dict(os.environ, HEARTH_CACERT=crt_b)
        loop = asyncio.get_running_loop()
        p = await loop.run_in_executor(None, lambda: subprocess.run(
            [ctl.bin, *base, "rooms"], capture_output=True, env=env, timeout=15))
        C("HEARTH_CACERT works as --cacert", p.returncode == 0 and b"tls-room" in p.stdout,
          f"exit {p.returncode}: {p.stderr[:200]!r}")

    if ws is not None:
        await ws.close()
    srv.stop(C, label="TLS server: SIGTERM -> exit 0 within 5 s")


if __name__ == "__main__":
    H.run_main("test_tls", main)
