#!/usr/bin/python3
"""
Relayed media through hearthd's embedded TURN server and through coturn, side by side (issue 10).

The same client drives both: coturn's own `turnutils_uclient` (M clients, each allocating on the
server and sending small UDP packets every few ms through its relay to `turnutils_peer`, a UDP
echo peer, and back). Every echoed packet crosses the server twice (client -> peer, peer ->
client), so relayed packets = 2 x packets received back. The server's CPU is utime + stime from
/proc/PID/stat over the run (all its threads); the figure is relayed packets per CPU-second.

Servers, each fresh for every run, on 127.0.0.1 with ports picked free:
  hearthd  dev profile, turn.secrets set, turn.allow_peers = 127.0.0.1, quotas raised; media on
  coturn   4.6.1, use-auth-secret, allow-loopback-peers, no TLS/DTLS/CLI, its default relay
           threads (one per core: its best setting here)

  bench/turn_compare.py [--build-dir build] [--clients 40] [--messages 1500] [--interval-ms 10]
                        [--length 160] [--runs 3] [--json out.json] [--only hearthd|coturn]

The machine has 2 shared cores and uclient runs on them too: compare ratios from the same run,
and quote medians of repeated runs (docs/benchmarks.md).
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

SECRET = "bench-turn-secret-0123456789"
CLK = os.sysconf("SC_CLK_TCK")


def free_port():
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                t.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port")


def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK  # utime, stime


def credential(user="bench"):
    name = f"{int(time.time()) + 3600}:{user}"
    pw = base64.b64encode(hmac.new(SECRET.encode(), name.encode(), hashlib.sha1).digest()).decode()
    return name, pw


def wait_port(port, proc, what, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), 0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port}")


def start_hearthd(build, tmp):
    port, http = free_port(), free_port()
    data = os.path.join(tmp, "data")
    os.makedirs(data, exist_ok=True)
    argv = [os.path.join(build, "hearthd"), "--profile", "dev", "--listen", f"127.0.0.1:{http}",
            "--data-dir", data, "--set", "log_level=warn", "--set", "media.workers=1",
            "--set", "turn.host=127.0.0.1", "--set", f"turn.udp_port={port}",
            "--set", "turn.tcp_port=-1", "--set", "turn.tls_port=-1",
            "--set", f"turn.secrets={SECRET}", "--set", "turn.allow_peers=127.0.0.1",
            "--set", "turn.max_allocations=10000", "--set", "turn.max_bps=10000000000"]
    log = open(os.path.join(tmp, "hearthd.log"), "wb")
    p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    wait_port(http, p, "hearthd")
    time.sleep(0.3)
    return p, port


def start_coturn(tmp):
    port, relay = free_port(), free_port()
    conf = os.path.join(tmp, "turnserver.conf")
    with open(conf, "w") as f:
        f.write("\n".join([
            "listening-ip=127.0.0.1", "relay-ip=127.0.0.1", f"listening-port={port}",
            "use-auth-secret", f"static-auth-secret={SECRET}", "realm=hearth",
            "allow-loopback-peers", "no-cli", "no-tls", "no-dtls", "fingerprint",
            f"min-port={relay}", f"max-port={min(relay + 2000, 65535)}",
            f"pidfile={tmp}/turnserver.pid", f"log-file={tmp}/turn.log", "simple-log",
            "no-stdout-log", ""]))
    log = open(os.path.join(tmp, "coturn.out"), "wb")
    p = subprocess.Popen(["turnserver", "-c", conf], stdout=log, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL)
    wait_port(port, p, "coturn")
    time.sleep(0.3)
    return p, port


def run_once(kind, args, peer_port):
    tmp = tempfile.mkdtemp(prefix=f"hx-turnbench-{kind}-")
    proc, port = start_hearthd(args.build_dir, tmp) if kind == "hearthd" else start_coturn(tmp)
    try:
        user, pw = credential()
        argv = ["turnutils_uclient", "-u", user, "-w", pw, "-e", "127.0.0.1", "-r", str(peer_port),
                "-X", "-c", "-p", str(port), "-m", str(args.clients), "-n", str(args.messages),
                "-l", str(args.length), "-z", str(args.interval_ms), "127.0.0.1"]
        c0, t0 = cpu_s(proc.pid), time.monotonic()
        out = subprocess.run(argv, capture_output=True, timeout=600).stdout.decode(errors="replace")
        c1, t1 = cpu_s(proc.pid), time.monotonic()
        m = re.search(r"tot_send_msgs=(\d+), tot_recv_msgs=(\d+)\s*$", out, re.M)
        sent, recv = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
        relayed = 2 * recv
        cpu = c1 - c0
        return {"server": kind, "sent": sent, "received": recv, "relayed": relayed,
                "loss_pct": round(100.0 * (sent - recv) / sent, 3) if sent else None,
                "cpu_s": round(cpu, 3), "wall_s": round(t1 - t0, 2),
                "pps_per_cpu_s": round(relayed / cpu) if cpu > 0 else None}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build-dir", default="build")
    ap.add_argument("--clients", type=int, default=40)
    ap.add_argument("--messages", type=int, default=1500)
    ap.add_argument("--interval-ms", type=int, default=10)
    ap.add_argument("--length", type=int, default=160)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", choices=["hearthd", "coturn"])
    ap.add_argument("--json")
    args = ap.parse_args()
    for b in ("turnutils_uclient", "turnutils_peer", "turnserver"):
        if not shutil.which(b):
            sys.exit(f"{b} missing: apt-get install coturn")
    peer_port = free_port()
    peer = subprocess.Popen(["turnutils_peer", "-L", "127.0.0.1", "-p", str(peer_port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    results = []
    try:
        kinds = [args.only] if args.only else ["hearthd", "coturn"]
        for i in range(args.runs):
            for kind in (kinds if i % 2 == 0 else kinds[::-1]):  # alternate who goes first
                r = run_once(kind, args, peer_port)
                r["run"] = i + 1
                results.append(r)
                print(json.dumps(r), flush=True)
    finally:
        peer.terminate()
        peer.wait()
    summary = {}
    for kind in {r["server"] for r in results}:
        rs = [r for r in results if r["server"] == kind and r["pps_per_cpu_s"]]
        if rs:
            summary[kind] = {"median_pps_per_cpu_s": statistics.median(r["pps_per_cpu_s"] for r in rs),
                             "median_loss_pct": statistics.median(r["loss_pct"] for r in rs),
                             "runs": len(rs)}
    if "hearthd" in summary and "coturn" in summary:
        summary["ratio_hearthd_over_coturn"] = round(
            summary["hearthd"]["median_pps_per_cpu_s"] / summary["coturn"]["median_pps_per_cpu_s"], 2)
    print(json.dumps(summary, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"params": vars(args), "runs": results, "summary": summary}, f, indent=2)


if __name__ == "__main__":
    main()
