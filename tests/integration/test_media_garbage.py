#!/usr/bin/python3
"""
Garbage on the media port during a call changes no transport's state: hearth-load holds a real
call (ICE, DTLS, SRTP; 1 publisher with audio and video, 2 subscribers) while this script sends
hearthd's media UDP port thousands of bad datagrams from an address no ICE check validated, each
kind demultiplexed differently by RFC 7983's first byte (the kinds of tests/browser/
garbage.test.mjs: random bytes, truncated and forged STUN with and without the magic cookie and
with an unknown USERNAME, truncated DTLS records and ClientHello-looking handshake records,
truncated RTP, RTP with random SSRCs, RTP with a lying extension length, RTCP with lying lengths,
1-byte and 1500-byte datagrams), then a burst of random datagrams as fast as Python sends them.

After the flood: `hearth_transport_states_total` has no `failed` (and no `disconnected`), the log
has no `media.transport` line, media keeps being forwarded (the packet counters still grow), and
hearth-load ends with every participant joined and no loss over 1 %. Every `failed` state counted
must have its `media.transport` log line with the reason.

The call lasts past 30 s on purpose. Garbage from an unvalidated address never reaches a
transport (the ICE demux routes non-STUN datagrams only by the address of a validated pair); the
`failed` states once seen after such a flood were the receive-only participants' publisher
transports, which hearth opens at join and such a client never negotiates: until 5169c2f the ICE
agent failed every transport not connected 30 s after it was opened, and logged nothing. Now a
transport's deadline (media.connect_timeout_ms) starts with its first remote description, and a
failure is logged with its reason.
"""

import json
import os
import random
import re
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402

PUBLISHERS = 1
SUBSCRIBERS = 2
DURATION_S = 36  # past the 30 s after which idle transports used to fail
ROUNDS = 40  # each round sends every kind 5 times
BURST = 20000
MAX_LOSS_PCT = 1.0

R = random.Random()


def rand(n):
    return os.urandom(n)


def ri(lo, hi):
    return R.randint(lo, hi)


def stun_cookie():
    """A binding request header with the magic cookie, a lying length and a random body."""
    b = bytearray(struct.pack("!HHI", 0x0001, ri(0, 0xFFFF) & ~3, 0x2112A442) + rand(12))
    return bytes(b) + rand(ri(0, 80))


def stun_username():
    """A well-formed binding request with an unknown USERNAME and no integrity."""
    user = b"nobody:nothing"
    attr = struct.pack("!HH", 0x0006, len(user)) + user + b"\0\0"
    return struct.pack("!HHI", 0x0001, len(attr), 0x2112A442) + rand(12) + attr


def rtp_random_ssrc():
    h = bytes([0x80, ri(96, 127) | (ri(0, 1) << 7)])
    return h + struct.pack("!HII", ri(0, 0xFFFF), ri(0, 2**32 - 1), ri(0, 2**32 - 1)) + \
        rand(ri(0, 1000))


def rtp_extension():
    """X bit set with an extension length pointing past the end."""
    return bytes([0x90 | ri(0, 15), 96]) + bytes(6) + \
        struct.pack("!IHH", ri(0, 2**32 - 1), 0xBEDE, ri(1, 0xFFFF))


def rtcp_lying():
    b = bytearray(8) + rand(ri(0, 40))
    b[0] = 0x80 | ri(0, 31)
    b[1] = R.choice([200, 201, 202, 203, 205, 206])
    struct.pack_into("!HI", b, 2, ri(0, 0xFFFF), ri(0, 2**32 - 1))
    return bytes(b)


KINDS = {
    "random": lambda: rand(ri(2, 1200)),
    "one_byte": lambda: bytes([ri(0, 255)]),
    "big_random": lambda: rand(1500),
    "stun_truncated": lambda: bytes([ri(0, 1)]) + rand(ri(0, 19)),
    "stun_cookie": stun_cookie,
    "stun_username": stun_username,
    "dtls_truncated": lambda: bytes([ri(20, 63)]) + rand(ri(0, 12)),
    "dtls_record": lambda: bytes([22, 0xFE, 0xFD]) + rand(10) + rand(ri(0, 200)),
    "rtp_truncated": lambda: bytes([0x80]) + rand(ri(0, 10)),
    "rtp_random_ssrc": rtp_random_ssrc,
    "rtp_extension": rtp_extension,
    "rtcp_lying": rtcp_lying,
    "empty_ish": lambda: bytes([0x80, 0xC8]),
}


def flood(port):
    """Every kind, ROUNDS x 5 times, paced; then BURST random datagrams unpaced. Returns the count."""
    sent = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for _ in range(ROUNDS):
            for _ in range(5):
                for make in KINDS.values():
                    s.sendto(make(), ("127.0.0.1", port))
                    sent += 1
            time.sleep(0.02)
        pool = [rand(ri(1, 1400)) for _ in range(256)]
        for i in range(BURST):
            try:
                s.sendto(pool[i & 255], ("127.0.0.1", port))
                sent += 1
            except OSError:  # a full send buffer: the rest of the burst is the kernel's
                pass
    return sent


def metric(text, name, label=None):
    pat = re.escape(name) + (r"\{" + re.escape(label) + r"\}" if label else "") + r" (\S+)"
    m = re.search(r"^" + pat + r"$", text, re.M)
    return float(m.group(1)) if m else 0.0


def states(text):
    return {s: metric(text, "hearth_transport_states_total", f'state="{s}"')
            for s in ("connected", "disconnected", "failed", "closed")}


def forwarded(text):
    return metric(text, "hearth_media_packets_sent_total")


def body(args, C):
    load = os.path.join(args.build_dir, "hearth-load")
    if not C("hearth-load was built", os.path.exists(load), load):
        return
    srv = H.Server(args.build_dir, profile="dev", config={"": {"log_level": "info"}}).start()
    m = re.search(r"media\.ready .*udp_port=(\d+)", srv.log_text())
    if not C("the log names the media UDP port (media.ready)", m, srv.log_tail(10)):
        return
    udp_port = int(m.group(1))
    cmd = [load, "--url", srv.base_url, "--room", "garbage", "--publishers", str(PUBLISHERS),
           "--subscribers", str(SUBSCRIBERS), "--duration", str(DURATION_S), "--progress", "0",
           "--json"]
    H.log("running: " + " ".join(cmd))
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # The call is up once every transport that will connect has: the publisher's two and
        # each subscriber's subscriber transport, and media is being forwarded.
        want = 2 * PUBLISHERS + SUBSCRIBERS
        up = H.wait_until(lambda: states(srv.metrics().text)["connected"] >= want
                          and forwarded(srv.metrics().text) > 0, timeout=8)
        before = srv.metrics().text
        C("the call is up before the flood", up, str(states(before)))
        sent = flood(udp_port)
        H.log(f"sent {sent} garbage datagrams to udp {udp_port}")
        time.sleep(1.0)
        after = srv.metrics().text
        # The engine reports its packet counters every 2 s per transport.
        H.wait_until(lambda: forwarded(srv.metrics().text) > forwarded(after), timeout=6)
        later = srv.metrics().text
        C.eq("no transport failed or disconnected during the flood",
             {k: v for k, v in states(later).items() if k in ("failed", "disconnected")},
             {"failed": 0.0, "disconnected": 0.0})
        C.eq("no transport changed state (connected count unchanged)",
             states(later)["connected"], states(before)["connected"])
        C("media is still forwarded after the flood", forwarded(later) > forwarded(after),
          f"{forwarded(before)} -> {forwarded(after)} -> {forwarded(later)}")
        out, err = p.communicate(timeout=DURATION_S + 30)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    lines = [ln for ln in out.splitlines() if ln.startswith("{")]
    if not C("hearth-load printed its JSON summary", lines, (out + err)[-500:]):
        return
    r = json.loads(lines[-1])
    C.eq("every participant joined", (r["joined"], r["failed"]), (PUBLISHERS + SUBSCRIBERS, 0))
    C(f"loss <= {MAX_LOSS_PCT} %", r["loss_pct"] <= MAX_LOSS_PCT,
      f"{r['loss_pct']:.3f} % ({r['lost']} of {r['expected']})")
    C("subscribers received media", r["rx_packets"] > 0, str(r["rx_packets"]))
    final = srv.metrics().text
    C.eq(f"no transport failed in the whole {DURATION_S} s call (the subscribers' idle publisher "
         "transports included)", states(final)["failed"], 0.0)
    log = srv.log_text()
    failed_lines = [ln for ln in log.splitlines()
                    if " media.transport " in ln and "state=failed" in ln]
    C.eq("every failed state counted has its media.transport log line with the reason",
         len(failed_lines), int(states(final)["failed"]))
    C.eq("no media.transport line in the log", [ln for ln in log.splitlines()
                                                if " media.transport " in ln], [])
    srv.stop(C)


if __name__ == "__main__":
    H.run_main("garbage on the media port during a hearth-load call", body)
