#!/usr/bin/python3
"""
hearthd against Janus (VideoRoom), side by side, on the same network (issue 4).

Runs itself inside a fresh network namespace (unshare -n, as root) with lo up and one veth pair
whose ends carry 127.0.0.2 (the servers) and 127.0.0.3 (hearth-load's clients): Janus cannot
carry media over lo itself (../shared/PEERS.md), and hearthd gets the same path so both see the
same network. Nothing on the host changes.

Servers: hearthd (dev profile, one media worker, media on 127.0.0.2, caps raised for the room
sizes) and Janus 1.1 from a generated configuration in a temp dir: event_loops = the number of
cores (its best setting), only libjanus_videoroom.so and libjanus_websockets.so, no event
handlers or loggers, interface and ice_enforce_list 127.0.0.2, debug level 3.

Scenarios (the issue's): (a) audio room, 10 publishers x N subscribers; (b) video meeting,
10 x 10 at 1.2 Mbps (everyone publishes and receives the other nine); (c) one video publisher
(1.2 Mbps + audio) to N subscribers; (j) join rate: one publisher (audio + 500 kbps video) and
299 subscribers joining at 100 joins/s (the issue's join target: p99 <= 300 ms); (s) simulcast
under constraint (issue 12): one publisher sending 3 simulcast layers (q, h, f: 150, 300 and 750
kbps of 1.2 Mbps video, + audio) to N subscribers, the first N/2 of them constrained receivers
that report a REMB of 300 kbps every 250 ms (hearth-load --constrained, --remb-kbps); hearthd
runs with media.adaptive = true and picks their layer from it, Janus (which switches on no
subscriber feedback) is asked for substream 0 for them, the manual equivalent; (u) the same with
no constrained receiver, the figure to compare with. s and u run only when --runs names them.
For every run: the server's CPU (utime + stime from
/proc/PID/stat over the run), its RSS growth (VmRSS peak during the run minus before), and
hearth-load's figures. Per scenario and server: the largest N with < 1 % loss and p99 < 50 ms,
output packets per CPU-second (µs of CPU per output packet), CPU and RSS per subscriber, join
p50/p99, and the Janus / hearthd ratio.

  sudo bench/compare.py [--build-dir build] [--quick] [--json results.json]
                        [--only hearthd|janus] [--runs a:10,c:25,j:299] [--perf DIR]
                        [--repeat K]

--quick runs a short sweep (about 3 minutes); the default takes about 10 minutes. A fresh server
is started for every run. hearth-load runs on the same cores as the server (one thread).
--runs picks runs by scenario and N (any N, e.g. c:40,c:80 for RSS per subscriber at the
margin); --perf DIR attaches `perf record -g` to hearthd for each run (DIR/perf-<sc>-<N>.data);
--repeat K runs the whole list K times, each round both servers (medians: the s/u table). Each
run records the load average before it (/proc/loadavg): the machine is shared.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SERVER_IP, CLIENT_IP = "127.0.0.2", "127.0.0.3"
CORES = os.cpu_count() or 2
TICK = os.sysconf("SC_CLK_TCK")
JANUS_LIB = "/usr/lib/x86_64-linux-gnu/janus"


def log(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def sh(*cmd, check=True):
    return subprocess.run(cmd, check=check, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)


def setup_netns():
    sh("ip", "link", "set", "lo", "up")
    sh("ip", "link", "add", "hxs", "type", "veth", "peer", "name", "hxc")
    sh("ip", "addr", "add", f"{SERVER_IP}/32", "dev", "hxs")
    sh("ip", "addr", "add", f"{CLIENT_IP}/32", "dev", "hxc")
    sh("ip", "link", "set", "hxs", "up")
    sh("ip", "link", "set", "hxc", "up")
    for k in ("all", "default", "lo"):
        sh("sysctl", "-qw", f"net.ipv6.conf.{k}.disable_ipv6=1", check=False)
    # 127/8 on a non-loopback device: accept it (else martian) and skip reverse-path checks.
    for k in ("all", "default", "hxs", "hxc"):
        sh("sysctl", "-qw", f"net.ipv4.conf.{k}.route_localnet=1", check=False)
        sh("sysctl", "-qw", f"net.ipv4.conf.{k}.rp_filter=0", check=False)
        sh("sysctl", "-qw", f"net.ipv4.conf.{k}.accept_local=1", check=False)


def wait_tcp(port, timeout=15):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with socket.create_connection((SERVER_IP, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def proc_cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def proc_rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for ln in f:
            if ln.startswith("VmRSS:"):
                return int(ln.split()[1])
    return 0


class Hearth:
    name = "hearthd"

    def __init__(self, build, tmp):
        self.dir = os.path.join(tmp, "hearthd")
        os.makedirs(os.path.join(self.dir, "data"))
        conf = os.path.join(self.dir, "hearthd.conf")
        with open(conf, "w") as f:
            f.write(f"profile = dev\ndata_dir = {self.dir}/data\nlog_level = warn\n")
        self.cmd = [os.path.join(build, "hearthd"), "--config", conf, "--listen",
                    f"{SERVER_IP}:7880", "--set", f"media.host={SERVER_IP}", "--set",
                    "media.port=7882", "--set", "media.tcp_port=-1", "--set",
                    "rooms.max_participants=1000", "--set", "http.rate_per_s=2000", "--set",
                    "http.burst=4000",
                    # one media worker, as the published figures were measured (bench/workers.py
                    # compares worker counts)
                    "--set", "media.workers=1"]
        self.url = f"http://{SERVER_IP}:7880"
        self.target = "hearth"

    def start(self, adaptive=False):
        self.log = open(os.path.join(self.dir, "hearthd.log"), "ab")
        cmd = self.cmd + (["--set", "media.adaptive=true"] if adaptive else [])
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     cwd=self.dir)
        if not wait_tcp(7880):
            raise RuntimeError("hearthd did not start: " + self.cmd[0])
        for _ in range(50):
            try:
                if urllib.request.urlopen(self.url + "/readyz", timeout=1).status == 200:
                    return
            except OSError:
                time.sleep(0.1)

    def room(self, i):
        return f"bench{i}"

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Janus:
    name = "janus"

    def __init__(self, build, tmp):
        self.dir = os.path.join(tmp, "janus")
        os.makedirs(self.dir)
        plugins = sorted(p for p in os.listdir(f"{JANUS_LIB}/plugins") if p.endswith(".so")
                         and p != "libjanus_videoroom.so")
        transports = sorted(p for p in os.listdir(f"{JANUS_LIB}/transports")
                            if p.endswith(".so") and p != "libjanus_websockets.so")
        with open(os.path.join(self.dir, "janus.jcfg"), "w") as f:
            f.write(f"""general: {{
    configs_folder = "{self.dir}"
    plugins_folder = "{JANUS_LIB}/plugins"
    transports_folder = "{JANUS_LIB}/transports"
    events_folder = "{JANUS_LIB}/events"
    loggers_folder = "{JANUS_LIB}/loggers"
    debug_level = 3
    admin_secret = "bench"
    interface = "{SERVER_IP}"
    session_timeout = 60
    event_loops = {CORES}
}}
certificates: {{
}}
media: {{
    rtp_port_range = "20000-40000"
}}
nat: {{
    nice_debug = false
    ice_enforce_list = "{SERVER_IP}"
    ignore_mdns = true
}}
plugins: {{
    disable = "{','.join(plugins)}"
}}
transports: {{
    disable = "{','.join(transports)}"
}}
loggers: {{
    disable = "libjanus_jsonlog.so"
}}
events: {{
    broadcast = false
}}
""")
        with open(os.path.join(self.dir, "janus.transport.websockets.jcfg"), "w") as f:
            f.write(f"""general: {{
    json = "compact"
    ws = true
    ws_port = 8188
    ws_ip = "{SERVER_IP}"
    wss = false
}}
admin: {{
    admin_ws = false
    admin_wss = false
}}
""")
        with open(os.path.join(self.dir, "janus.plugin.videoroom.jcfg"), "w") as f:
            f.write("general: {\n}\n")
        self.cmd = ["janus", "-C", os.path.join(self.dir, "janus.jcfg"), "-F", self.dir, "-L",
                    os.path.join(self.dir, "janus.log"), "-o", "-N"]
        self.url = f"ws://{SERVER_IP}:8188"
        self.target = "janus"

    def start(self, adaptive=False):  # Janus has no downlink estimate to turn on
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, cwd=self.dir)
        if not wait_tcp(8188):
            raise RuntimeError("janus did not start (see its log in " + self.dir + ")")

    def room(self, i):
        return str(1000 + i)

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def run_one(args, srv, idx, pubs, subs, audio, video, kbps, rate, extra, perf=None):
    pid = srv.proc.pid
    cmd = [os.path.join(args.build_dir, "hearth-load"), "--target", srv.target, "--url", srv.url,
           "--room", srv.room(idx), "--local-ip", CLIENT_IP, "--publishers", str(pubs),
           "--subscribers", str(subs), "--duration", str(args.duration), "--join-rate",
           str(rate or args.join_rate), "--threads", "1", "--video-kbps", str(kbps or 500),
           "--progress", "0", "--json"]
    if not audio:
        cmd.append("--no-audio")
    if not video:
        cmd.append("--no-video")
    if extra.get("simulcast"):
        cmd += ["--simulcast", str(extra["simulcast"])]
    if extra.get("constrained"):
        cmd += ["--constrained", str(extra["constrained"]), "--remb-kbps", str(extra["remb_kbps"])]
    load = os.getloadavg()
    rss0, cpu0 = proc_rss_kb(pid), proc_cpu_s(pid)
    peak = [rss0]
    done = threading.Event()

    def sample():
        while not done.wait(0.5):
            try:
                peak[0] = max(peak[0], proc_rss_kb(pid))
            except OSError:
                return

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    rec = None
    if perf:
        rec = subprocess.Popen(["perf", "record", "-g", "-F", "999", "-p", str(pid), "-o", perf],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
    t0 = time.monotonic()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=args.duration + 60)
    wall = time.monotonic() - t0
    cpu = proc_cpu_s(pid) - cpu0
    done.set()
    th.join()
    if rec:
        rec.send_signal(signal.SIGINT)
        rec.wait(30)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        log(f"{srv.name}: hearth-load printed no summary: {p.stderr[-400:]}")
        return None
    r = json.loads(lines[-1])
    receivers = subs + (pubs if pubs > 1 else 0)
    r.update(server=srv.name, cpu_s=cpu, wall_s=wall, cpu_pct=100 * cpu / wall,
             rss_kb=peak[0] - rss0, receivers=receivers,
             us_per_pkt=1e6 * cpu / r["rx_packets"] if r["rx_packets"] else None,
             pkts_per_cpu_s=r["rx_packets"] / cpu if cpu > 0 else None, loadavg=list(load))
    r["ok"] = r["failed"] == 0 and r["loss_pct"] < 1.0 and 0 <= r["latency_ms"]["p99"] < 50
    err = [ln for ln in p.stderr.splitlines() if "failed" in ln][:3]
    log(f"{srv.name:8s} {pubs:3d}x{subs:<4d} loss {r['loss_pct']:6.2f} %  p99 "
        f"{r['latency_ms']['p99']:7.2f} ms  join p50/p99 {r['join_ms']['p50']:.0f}/"
        f"{r['join_ms']['p99']:.0f}  CPU {r['cpu_pct']:5.1f} %  "
        f"{r['us_per_pkt'] or 0:6.1f} us/pkt  RSS +{r['rss_kb']} KiB  load {load[0]:.2f}  "
        f"{'ok' if r['ok'] else 'MISS'} {' | '.join(err)}")
    for g in ("constrained", "open") if r.get("simulcast", 1) > 1 and "groups" in r else ():
        gr = r["groups"][g]
        log(f"{'':8s} {g:11s} {gr['receivers']:3d} receivers, loss {gr['loss_pct']:5.2f} %  " +
            "  ".join(f"{ly['rid']} {ly['kbps'] if ly['seconds'] >= 0.1 else 0:4.0f} kbps "
                      f"{ly['seconds']:6.1f} s (ended {ly['final']})" for ly in gr["video_layers"]))
    return r


SIMULCAST_REMB_KBPS = 300  # scenario s: what the constrained half reports


def scenario(sc, n):
    # (scenario, title, publishers, subscribers, audio, video, kbps, join rate or None, extra)
    if sc == "a":
        return ("a", "audio room 10 x N", 10, n, True, False, 0, None, {})
    if sc == "b":
        return ("b", "video meeting 10 x 10, 1.2 Mbps", 10, 0, True, True, 1200, None, {})
    if sc == "c":
        return ("c", "1 video publisher to N", 1, n, True, True, 1200, None, {})
    if sc == "j":
        return ("j", "join rate: 1 + N at 100 joins/s", 1, n, True, True, 500, 100, {})
    if sc == "s":
        return ("s", f"simulcast 1 x N, N/2 constrained to {SIMULCAST_REMB_KBPS} kbps", 1, n,
                True, True, 1200, None, {"simulcast": 3, "constrained": n // 2,
                                         "remb_kbps": SIMULCAST_REMB_KBPS, "adaptive": True})
    if sc == "u":
        return ("u", "simulcast 1 x N, none constrained", 1, n, True, True, 1200, None,
                {"simulcast": 3, "adaptive": True})
    raise ValueError(sc)


def scenarios(args):
    if args.runs:
        out = []
        for item in args.runs.split(","):
            sc, _, n = item.partition(":")
            out.append(scenario(sc, int(n or 0)))
        return out
    ns = [10, 25] if args.quick else [10, 25, 50, 100]
    out = [scenario("a", n) for n in ns] + [scenario("b", 0)]
    out += [scenario("c", n) for n in ns]
    return out + [scenario("j", 99 if args.quick else 299)]


def summarize(results):
    rows = []
    for sc in sorted({r["scenario"] for r in results}):
        for server in ("hearthd", "janus"):
            rs = [r for r in results if r["scenario"] == sc and r["server"] == server]
            if not rs:
                continue
            good = [r for r in rs if r["ok"]]
            best = max(good, key=lambda r: r["subscribers"]) if good else None
            big = max(rs, key=lambda r: r["subscribers"])
            pk = sum(r["rx_packets"] for r in rs)
            cpu = sum(r["cpu_s"] for r in rs)
            rows.append(dict(
                scenario=sc, server=server, max_n=best["subscribers"] if best else None,
                us_per_pkt=1e6 * cpu / pk if pk else None,
                pkts_per_cpu_s=pk / cpu if cpu else None,
                cpu_pct_per_sub=big["cpu_pct"] / max(1, big["receivers"]),
                rss_kb_per_sub=big["rss_kb"] / max(1, big["receivers"]),
                join_p50=big["join_ms"]["p50"], join_p99=big["join_ms"]["p99"],
                loss=big["loss_pct"], p99=big["latency_ms"]["p99"], n=big["subscribers"]))
    return rows


def print_table(rows, results):
    print("\nper run:")
    print(f"{'sc':2} {'server':8} {'pubs':>4} {'subs':>5} {'loss %':>7} {'p99 ms':>7} "
          f"{'join p50':>8} {'p99':>5} {'CPU %':>6} {'us/pkt':>7} {'RSS KiB':>8} ok")
    for r in results:
        print(f"{r['scenario']:2} {r['server']:8} {r['publishers']:4d} {r['subscribers']:5d} "
              f"{r['loss_pct']:7.2f} {r['latency_ms']['p99']:7.2f} {r['join_ms']['p50']:8.0f} "
              f"{r['join_ms']['p99']:5.0f} {r['cpu_pct']:6.1f} {r['us_per_pkt'] or 0:7.1f} "
              f"{r['rss_kb']:8d} {'yes' if r['ok'] else 'NO'}")
    print("\nsummary (janus/hearthd ratio on CPU per output packet):")
    print(f"{'sc':2} {'server':8} {'max N ok':>8} {'us/pkt':>7} {'pkts/CPU-s':>10} "
          f"{'CPU%/sub':>8} {'KiB/sub':>8} {'join p50/p99':>13} {'ratio':>6}")
    by = {(r["scenario"], r["server"]): r for r in rows}
    for r in rows:
        h = by.get((r["scenario"], "hearthd"))
        ratio = ""
        if r["server"] == "janus" and h and h["us_per_pkt"] and r["us_per_pkt"]:
            ratio = f"{r['us_per_pkt'] / h['us_per_pkt']:.2f}x"
        mx = "-" if r["max_n"] is None else str(r["max_n"])
        print(f"{r['scenario']:2} {r['server']:8} {mx:>8} {r['us_per_pkt'] or 0:7.1f} "
              f"{r['pkts_per_cpu_s'] or 0:10.0f} {r['cpu_pct_per_sub']:8.2f} "
              f"{r['rss_kb_per_sub']:8.0f} {r['join_p50']:6.0f}/{r['join_p99']:<6.0f} {ratio:>6}")


def median(xs):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return None
    m = len(xs) // 2
    return xs[m] if len(xs) % 2 else (xs[m - 1] + xs[m]) / 2


def print_simulcast(results):
    """Scenarios s and u: per server and receiver group, medians over the runs."""
    sim = [r for r in results if r.get("simulcast", 1) > 1 and "groups" in r]
    if not sim:
        return
    print("\nsimulcast under constraint (medians over runs; kbps per receiving stream, "
          "s = stream-seconds per receiver, ended = received SSRCs that ended the run on it):")
    for key in sorted({(r["scenario"], r["subscribers"], r["server"]) for r in sim}):
        rs = [r for r in sim if (r["scenario"], r["subscribers"], r["server"]) == key]
        print(f"{key[0]} N={key[1]} {key[2]} ({len(rs)} runs): CPU "
              f"{median(r['us_per_pkt'] for r in rs) or 0:.1f} us/pkt, "
              f"{median(r['cpu_pct'] for r in rs):.1f} % CPU, loss "
              f"{median(r['loss_pct'] for r in rs):.3f} %, load avg before "
              f"{median(r['loadavg'][0] for r in rs):.2f}")
        for g in ("constrained", "open"):
            grs = [r["groups"][g] for r in rs]
            if not any(gr["receivers"] for gr in grs):
                continue
            parts = []
            for li, rid in enumerate(("q", "h", "f")):
                sec = median(gr["video_layers"][li]["seconds"] / max(1, gr["receivers"])
                             for gr in grs)
                # a stream of a few packets has no meaningful rate
                kb = median(gr["video_layers"][li]["kbps"] for gr in grs) if sec >= 0.1 else 0
                end = median(gr["video_layers"][li]["final"] for gr in grs)
                parts.append(f"{rid} {kb:4.0f} kbps {sec:5.1f} s ended {end:g}")
            # all of a receiver's video over the whole run (joins included)
            avg = median(sum(ly["bytes"] for ly in r["groups"][g]["video_layers"]) * 8 / 1e3 /
                         max(1, r["groups"][g]["receivers"]) / r["elapsed_s"] for r in rs)
            print(f"   {g:11s} {median(gr['receivers'] for gr in grs):g} receivers, loss "
                  f"{median(gr['loss_pct'] for gr in grs):.3f} %, video {avg:.0f} kbps per "
                  f"receiver over the run | " + " | ".join(parts))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--duration", type=int, default=None)
    ap.add_argument("--join-rate", type=float, default=50)
    ap.add_argument("--only", choices=["hearthd", "janus"])
    ap.add_argument("--json", help="write every run's figures here")
    ap.add_argument("--runs", help="scenario:N list instead of the sweep, e.g. c:40,c:80")
    ap.add_argument("--perf", help="perf record -g each hearthd run into this directory")
    ap.add_argument("--repeat", type=int, default=1, help="run the whole list this many times")
    args = ap.parse_args()
    args.build_dir = os.path.abspath(args.build_dir)
    if args.duration is None:
        args.duration = 10 if args.quick else 20
    if os.environ.get("HX_BENCH_NETNS") != "1":
        if os.geteuid() != 0:
            sys.exit("bench/compare.py needs root (unshare -n, veth)")
        if not shutil.which("janus") and args.only != "hearthd":
            log("janus missing: apt-get install -y janus")
            sh("apt-get", "-o", "DPkg::Lock::Timeout=900", "install", "-y", "janus")
        env = dict(os.environ, HX_BENCH_NETNS="1")
        os.execvpe("unshare", ["unshare", "-n", "--", sys.executable] + sys.argv, env)
    setup_netns()
    tmp = tempfile.mkdtemp(prefix="hearth-bench-")
    servers = [s for s in (Hearth(args.build_dir, tmp), Janus(args.build_dir, tmp))
               if not args.only or s.name == args.only]
    results = []
    runs = scenarios(args)
    try:
        for rnd in range(args.repeat):
            for srv in servers:
                for i, (sc, title, pubs, subs, audio, video, kbps, rate, extra) in enumerate(runs):
                    # a fresh server per run: RSS growth is this run's alone
                    srv.start(adaptive=extra.get("adaptive", False))
                    time.sleep(1)
                    perf = None
                    if args.perf and srv.name == "hearthd":
                        os.makedirs(args.perf, exist_ok=True)
                        perf = os.path.join(os.path.abspath(args.perf), f"perf-{sc}-{subs}.data")
                    r = run_one(args, srv, rnd * len(runs) + i, pubs, subs, audio, video, kbps,
                                rate, extra, perf)
                    srv.stop()
                    if r:
                        r.update(scenario=sc, title=title, round=rnd, setup=extra)
                        results.append(r)
    finally:
        for srv in servers:
            if getattr(srv, "proc", None) and srv.proc.poll() is None:
                srv.proc.kill()
    rows = summarize(results)
    print_table(rows, results)
    print_simulcast(results)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"runs": results, "summary": rows, "cores": CORES}, f, indent=1)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
