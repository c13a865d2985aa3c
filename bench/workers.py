#!/usr/bin/python3
"""
Many rooms over media workers (issue 13's first target): hearthd with one in-process media
worker (the default), one worker process, then two worker processes (media.isolation =
process), on the same load, in the same network namespace as bench/compare.py (it reuses its netns,
server and CPU helpers). The load: R rooms, each one video publisher (VP8-like at --kbps, +
audio) and S subscribers, each room driven by its own hearth-load process (one thread), all at
once. Per run: the CPU (utime + stime) of hearthd and its worker processes over the load, the output packets the clients
received (hearth-load's rx_packets, summed), µs of server CPU per output packet, loss and p99,
and, with two workers, each worker's share of the packets it forwarded
(`hearth_worker_packets_sent_total{worker}` from /metrics). The bar: neither worker above 60 %
of the output packets, and µs per packet within 10 % of the one-worker figure (the machine has
two cores shared with the load generators: efficiency, not throughput).

With --spread: one room of one publisher and --subs subscribers (one hearth-load process), on
one worker process, then on two with media.split_subscribers = subs / 2, so that half the
subscribers are fed through the relay (sfu/relay.h). The bar: loss under 1 % and packets per
CPU-second within 15 % of the one-worker figure.

  sudo bench/workers.py [--build-dir build] [--rooms 8] [--subs 6] [--kbps 500]
                        [--duration 20] [--repeat 3] [--json out.json]
  sudo bench/workers.py --spread [--subs 40] ...
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import compare as C  # noqa: E402


def worker_packets(url):
    text = urllib.request.urlopen(url + "/metrics", timeout=5).read().decode()
    out = {}
    for m in re.finditer(r'^hearth_worker_packets_sent_total\{worker="(\d+)"\} (\S+)$', text,
                         re.M):
        out[int(m.group(1))] = float(m.group(2))
    return out


def family_cpu_s(pid):
    """CPU seconds of hearthd and its worker processes (`hearthd --media-worker`)."""
    total = C.proc_cpu_s(pid)
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            kids = [int(k) for k in f.read().split()]
    except OSError:
        kids = []
    for k in kids:
        try:
            total += C.proc_cpu_s(k)
        except OSError:
            pass
    return total


def run(args, srv, workers, isolation, split_subs=0):
    srv.cmd = [c for c in srv.base_cmd] + ["--set", f"media.workers={workers}", "--set",
                                           f"media.isolation={isolation}", "--set",
                                           f"media.split_subscribers={split_subs}"]
    srv.start()
    time.sleep(1)
    pid = srv.proc.pid
    cmds = [[os.path.join(args.build_dir, "hearth-load"), "--target", "hearth", "--url", srv.url,
             "--room", f"w{i}", "--local-ip", C.CLIENT_IP, "--publishers", "1", "--subscribers",
             str(args.subs), "--duration", str(args.duration), "--join-rate", "20", "--threads",
             "1", "--video-kbps", str(args.kbps), "--progress", "0", "--json"]
            for i in range(args.rooms)]
    load = os.getloadavg()
    cpu0 = family_cpu_s(pid)
    t0 = time.monotonic()
    procs = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for c in cmds]
    outs = [p.communicate(timeout=args.duration + 60) for p in procs]
    wall = time.monotonic() - t0
    cpu = family_cpu_s(pid) - cpu0
    split = worker_packets(srv.url) if workers > 1 else {}
    srv.stop()
    rs = []
    for out, err in outs:
        lines = [ln for ln in out.splitlines() if ln.startswith("{")]
        if not lines:
            C.log(f"hearth-load printed no summary: {err[-300:]}")
            return None
        rs.append(json.loads(lines[-1]))
    rx = sum(r["rx_packets"] for r in rs)
    lost = max(r["loss_pct"] for r in rs)
    p99 = max(r["latency_ms"]["p99"] for r in rs)
    total = sum(split.values())
    shares = {w: v / total for w, v in split.items()} if total else {}
    res = dict(workers=workers, isolation=isolation, split_subscribers=split_subs, rooms=args.rooms, subs=args.subs,
               cpu_s=cpu, wall_s=wall,
               rx_packets=rx, us_per_pkt=1e6 * cpu / rx if rx else None, max_loss_pct=lost,
               max_p99_ms=p99, shares=shares, loadavg=list(load))
    C.log(f"workers={workers} ({isolation}, split_subscribers {split_subs}): {rx} packets out, CPU {100 * cpu / wall:.1f} %, "
          f"{res['us_per_pkt'] or 0:.2f} us/pkt, loss <= {lost:.2f} %, p99 <= {p99:.1f} ms, "
          f"shares {json.dumps({k: round(v, 3) for k, v in shares.items()})}, "
          f"load {load[0]:.2f}")
    return res


# (media.workers, media.isolation, media.split_subscribers): today's default, one worker process
# (the cost of the process hop alone), two worker processes (rooms whole on one)
CASES = [(1, "thread", 0), (1, "process", 0), (2, "process", 0)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", default=os.path.join(C.ROOT, "build"))
    ap.add_argument("--rooms", type=int, default=8)
    ap.add_argument("--subs", type=int, default=6)
    ap.add_argument("--kbps", type=int, default=500)
    ap.add_argument("--duration", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json")
    ap.add_argument("--spread", action="store_true",
                    help="one room of --subs subscribers, on one worker, then spread over two")
    args = ap.parse_args()
    cases = CASES
    if args.spread:
        args.rooms = 1
        cases = [(1, "process", 0), (2, "process", max(1, args.subs // 2))]
    args.build_dir = os.path.abspath(args.build_dir)
    if os.environ.get("HX_BENCH_NETNS") != "1":
        if os.geteuid() != 0:
            sys.exit("bench/workers.py needs root (unshare -n, veth)")
        env = dict(os.environ, HX_BENCH_NETNS="1")
        os.execvpe("unshare", ["unshare", "-n", "--", sys.executable] + sys.argv, env)
    C.setup_netns()
    tmp = tempfile.mkdtemp(prefix="hearth-bench-workers-")
    srv = C.Hearth(args.build_dir, tmp)
    srv.base_cmd = list(srv.cmd)
    results = []
    try:
        for _ in range(args.repeat):
            for workers, isolation, split in cases:
                r = run(args, srv, workers, isolation, split)
                if r:
                    results.append(r)
    finally:
        if getattr(srv, "proc", None) and srv.proc.poll() is None:
            srv.proc.kill()
    print("\nmedians:")
    for workers, isolation, split in cases:
        rs = [r for r in results if (r["workers"], r["isolation"]) == (workers, isolation)]
        if not rs:
            continue
        us = C.median(r["us_per_pkt"] for r in rs)
        top = C.median(max(r["shares"].values()) for r in rs) if workers > 1 else None
        print(f"workers={workers} {isolation} ({len(rs)} runs): {us:.2f} us/pkt, "
              f"loss <= {C.median(r['max_loss_pct'] for r in rs):.2f} %, p99 <= "
              f"{C.median(r['max_p99_ms'] for r in rs):.1f} ms"
              + (f", busiest worker {100 * top:.1f} % of the packets" if top else ""))
    one = C.median(r["us_per_pkt"] for r in results if r["workers"] == 1 and
                   r["isolation"] == ("process" if args.spread else "thread"))
    two = C.median(r["us_per_pkt"] for r in results if r["workers"] == 2)
    if one and two:
        print(f"two worker processes / one {'worker process' if args.spread else 'in-process worker'}: "
              f"{two / one:.3f} of the CPU per output packet "
              f"({one / two:.3f} of the packets per CPU-second)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"runs": results, "cores": C.CORES}, f, indent=1)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
