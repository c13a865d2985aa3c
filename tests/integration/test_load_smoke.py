#!/usr/bin/python3
"""
The CI load smoke (issue 4): hearth-load against a real hearthd for 30 s, 2 publishers (Opus-like
audio at 50 packets/s and 1.2 Mbps VP8-like video each) x 4 subscribers, every participant joining
through the real protocol with its own ICE/DTLS/SRTP transports. Fails on a failed join, on more
than 1 % loss, or when far too little arrived; prints the figures either way.

Expected traffic: every participant receives every other publisher's streams (auto-subscribe), so
each packet a publisher sends should arrive (PUBLISHERS - 1) + SUBSCRIBERS times.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402

PUBLISHERS = 2
SUBSCRIBERS = 4
DURATION_S = 30
MAX_LOSS_PCT = 1.0


def body(args, C):
    load = os.path.join(args.build_dir, "hearth-load")
    C("hearth-load was built", os.path.exists(load), load)
    srv = H.Server(args.build_dir, profile="dev", config={"": {"log_level": "info"}}).start()
    cmd = [load, "--url", srv.base_url, "--room", "smoke", "--publishers", str(PUBLISHERS),
           "--subscribers", str(SUBSCRIBERS), "--duration", str(DURATION_S), "--video-kbps",
           "1200", "--fps", "30", "--keyint", "2", "--progress", "5", "--json"]
    r = H.run_load(C, cmd, DURATION_S + 30)
    if r is None:
        return
    print("figures:", json.dumps(r, indent=1), flush=True)
    total = PUBLISHERS + SUBSCRIBERS
    C.eq("every participant joined", r["joined"], total)
    C.eq("no failed join", r["failed"], 0)
    C(f"loss <= {MAX_LOSS_PCT} %", r["loss_pct"] <= MAX_LOSS_PCT,
      f"{r['loss_pct']:.3f} % ({r['lost']} of {r['expected']})")
    # Each publisher's packets reach the other publisher and every subscriber.
    fanout = (PUBLISHERS - 1) + SUBSCRIBERS
    C("most of what was sent arrived", r["rx_packets"] >= 0.95 * r["tx_packets"] * fanout,
      f"received {r['rx_packets']}, sent {r['tx_packets']} x fan-out {fanout}")
    C("join times measured for every participant", r["join_ms"]["n"] == total,
      f"{r['join_ms']}")
    C("latency measured", r["latency_ms"]["p50"] >= 0, f"{r['latency_ms']}")
    C.eq("hearth-load exit status", r["_exit"], 0)
    H.log(f"loss {r['loss_pct']:.3f} %, join p50/p99 {r['join_ms']['p50']}/"
          f"{r['join_ms']['p99']} ms, latency p50/p99 {r['latency_ms']['p50']}/"
          f"{r['latency_ms']['p99']} ms, jitter {r['jitter_ms']:.3f} ms")
    srv.stop(C)


if __name__ == "__main__":
    H.run_main("hearth-load smoke against hearthd", body)
