#!/usr/bin/python3
"""
The operator's kit (ops/) against a real Prometheus (Debian's prometheus and promtool, on a
free loopback port, its own data dir, stopped by the test):

- `promtool check rules` accepts ops/alerts.yml;
- ops/grafana-hearth.json is what ops/make_dashboard.py writes (the panels have one source);
- docs/operations.md lists every family src/core/metric_names.h names;
- a fresh hearthd with two media worker processes serves every series the rules and the
  dashboard name (histograms as families), hearth_build_info with its version, the process_*
  series, each worker's CPU, memory and descriptors; every value is written in the fewest
  digits that read back the same;
- Prometheus scrapes that hearthd, loads the rules (all healthy after evaluating), runs every
  dashboard query without an error, and fires HearthRestarted (uptime under 5 minutes) from
  the real series.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import edge_support as E  # noqa: E402
import harness as H  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OPS = os.path.join(REPO, "ops")
sys.path.insert(0, OPS)
import make_dashboard  # noqa: E402

# Named by the rules but present only in some setups (a Redis cluster, webhooks configured).
SETUP_ONLY = {"hearth_bus_redis_up", "hearth_webhook_lag_seconds", "up"}
PROM_FUNCS = {"sum", "rate", "increase", "histogram_quantile", "clamp_min", "by", "on", "and",
              "time", "label_values", "le", "instance", "humanizePercentage"}


def names_in(expr):
    """Metric names a PromQL expression reads (family names: _bucket/_sum/_count cut)."""
    expr = re.sub(r'\{[^}]*\}', '', expr)           # label matchers
    expr = re.sub(r'\[[^\]]*\]', '', expr)          # ranges
    expr = re.sub(r'by \([^)]*\)', '', expr)
    out = set()
    for w in re.findall(r'\b([a-z_][a-z0-9_]*)\b', expr):
        if w in PROM_FUNCS or not (w.startswith("hearth_") or w.startswith("process_") or w == "up"):
            continue
        out.add(re.sub(r'_(bucket|sum|count)$', '', w) if w.startswith("hearth_") and
                re.search(r'_seconds_(bucket|sum|count)$', w) else w)
    return out


def rule_exprs(path):
    """The expr of each rule in alerts.yml (read without a YAML library: `expr:` scalars and
    `|` blocks)."""
    lines = open(path).read().split("\n")
    exprs, i = [], 0
    while i < len(lines):
        m = re.match(r'^(\s*)expr:\s*(.*)$', lines[i])
        if not m:
            i += 1
            continue
        if m.group(2).strip() == "|":
            ind, block = len(m.group(1)), []
            i += 1
            while i < len(lines) and (not lines[i].strip() or
                                      len(lines[i]) - len(lines[i].lstrip()) > ind):
                block.append(lines[i].strip())
                i += 1
            exprs.append(" ".join(block))
        else:
            exprs.append(m.group(2))
            i += 1
    return exprs


def samples(text):
    """(name, labels text, value text) of each sample line."""
    out = []
    for line in text.split("\n"):
        if not line or line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$', line)
        out.append((m.group(1), m.group(2) or "", m.group(3)) if m else (line, None, None))
    return out


def shortest(v):
    """How hearthd must write a value (metrics.c's rule, spelled in Python)."""
    x = float(v)
    if x != x:
        return "NaN"
    if x in (float("inf"), float("-inf")):
        return "+Inf" if x > 0 else "-Inf"
    if x == int(x) and abs(x) < 2 ** 53:
        return "%.0f" % x
    for p in (15, 16, 17):
        s = "%.*g" % (p, x)
        if float(s) == x:
            return s


def prom_get(port, path, **q):
    url = f"http://127.0.0.1:{port}{path}"
    if q:
        url += "?" + urllib.parse.urlencode(q)
    with urllib.request.urlopen(url, timeout=10) as r:
        return json.loads(r.read())


def main(args, C):
    prometheus = E.require("prometheus", "prometheus (Debian's package)")
    promtool = E.require("promtool", "promtool (Debian's prometheus package)")
    alerts = os.path.join(OPS, "alerts.yml")
    exprs = rule_exprs(alerts)
    queries = make_dashboard.queries()

    with C.section("the files"):
        p = subprocess.run([promtool, "check", "rules", alerts], capture_output=True, text=True)
        C("promtool check rules ops/alerts.yml", p.returncode == 0, (p.stdout + p.stderr)[-800:])
        m = re.search(r"SUCCESS: (\d+) rules found", p.stdout + p.stderr)
        C.eq("promtool found every rule", m and int(m.group(1)), len(exprs))
        with open(os.path.join(OPS, "grafana-hearth.json")) as f:
            C("grafana-hearth.json is what make_dashboard.py writes",
              f.read() == make_dashboard.render(), "run ops/make_dashboard.py")
        C("the dashboard has queries", len(queries) > 20, str(len(queries)))
        with open(os.path.join(REPO, "src", "core", "metric_names.h")) as f:
            families = re.findall(r'"(hearth_[a-z_]+)"', f.read())
        with open(os.path.join(REPO, "docs", "operations.md")) as f:
            doc = f.read()
        undocumented = [n for n in families if f"`{n}`" not in doc]
        C("docs/operations.md lists every family of metric_names.h",
          len(families) > 60 and not undocumented, str(undocumented))

    srv = H.Server(args.build_dir, sets=["media.workers=2", "media.isolation=process"])
    srv.start()
    with C.section("a fresh hearthd's /metrics"):
        deadline = time.time() + 15
        while time.time() < deadline:  # both workers report their ports
            if srv.log_text().count("media.ready") >= 2:
                break
            time.sleep(0.2)
        text = srv.http("GET", "/metrics").text
        got = samples(text)
        bad = [n for n, lab, v in got if lab is None]
        C("every line parses as a sample", not bad, str(bad[:3]))
        families = {n for n, _, _ in got} | {re.sub(r'_(bucket|sum|count)$', '', n)
                                             for n, _, _ in got}
        wanted = set()
        for e in exprs + queries:
            wanted |= names_in(e)
        missing = sorted(wanted - families - SETUP_ONLY)
        C("every series the rules and the dashboard name is there, at zero or more",
          not missing, str(missing))
        C("they name a good number of series", len(wanted) >= 30, str(len(wanted)))
        info = [lab for n, lab, v in got if n == "hearth_build_info"]
        C("hearth_build_info with version and protocols, value 1",
          len(info) == 1 and 'version="' in info[0] and 'protocols="1-2"' in info[0] and
          re.search(r'^hearth_build_info\{.*\} 1$', text, re.M) is not None, str(info))
        for n in ("process_cpu_seconds_total", "process_resident_memory_bytes", "process_open_fds",
                  "process_max_fds", "process_start_time_seconds"):
            v = [float(v) for m, _, v in got if m == n]
            C(f"{n} > 0", len(v) == 1 and v[0] > 0, str(v))
        start = [float(v) for m, _, v in got if m == "process_start_time_seconds"]
        C("process_start_time_seconds is within a minute of now",
          start and abs(start[0] - time.time()) < 60, str(start))
        for n in ("hearth_worker_cpu_seconds_total", "hearth_worker_resident_memory_bytes",
                  "hearth_worker_open_fds"):
            w = sorted(lab for m, lab, v in got if m == n and
                       float(v) >= (0 if n == "hearth_worker_cpu_seconds_total" else 1))
            C.eq(f"{n} for both workers", w, ['{worker="0"}', '{worker="1"}'])
        zeros = [lab for n, lab, v in got if n == "hearth_join_failures_total" and v == "0"]
        C("join failure codes are there at zero before any join", len(zeros) >= 10, str(zeros))
        badnum = [(n, v) for n, lab, v in got if lab is not None and v != shortest(v)]
        C("every value in the fewest digits that read back the same", not badnum, str(badnum[:5]))

    port = E.free_port()
    d = H.make_tmp("hearth-prom-")
    conf = os.path.join(d, "prometheus.yml")
    with open(conf, "w") as f:
        f.write(f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files: ["{alerts}"]
scrape_configs:
  - job_name: hearth
    static_configs:
      - targets: ["127.0.0.1:{srv.port}"]
""")
    prom = subprocess.Popen([prometheus, f"--config.file={conf}", f"--storage.tsdb.path={d}/data",
                             f"--web.listen-address=127.0.0.1:{port}"],
                            stdout=open(os.path.join(d, "prom.log"), "w"), stderr=subprocess.STDOUT)
    try:
        with C.section("a real Prometheus scraping it"):
            up, deadline = None, time.time() + 30
            while time.time() < deadline:
                try:
                    t = prom_get(port, "/api/v1/targets")["data"]["activeTargets"]
                    up = t and t[0]["health"]
                    if up == "up":
                        break
                except OSError:
                    pass
                time.sleep(0.5)
            C.eq("the hearth target is up", up, "up")
            rules, deadline = [], time.time() + 20
            while time.time() < deadline:
                groups = prom_get(port, "/api/v1/rules")["data"]["groups"]
                rules = [r for g in groups for r in g["rules"]]
                if rules and all(r.get("lastEvaluation", "").startswith("2") and
                                 not r["lastEvaluation"].startswith("0001") for r in rules):
                    break
                time.sleep(0.5)
            C.eq("every rule loaded", len(rules), len(exprs))
            sick = [(r["name"], r.get("lastError")) for r in rules if r.get("health") != "ok"]
            C("every rule evaluates (health ok)", rules and not sick, str(sick))
            failed = []
            for q in queries:
                q = q.replace("$__rate_interval", "1m").replace("$instance", ".*")
                r = prom_get(port, "/api/v1/query", query=q)
                if r.get("status") != "success":
                    failed.append((q, r.get("error")))
            C("every dashboard query runs", not failed, str(failed[:3]))
            r = prom_get(port, "/api/v1/query", query="hearth_build_info")["data"]["result"]
            C("Prometheus holds hearth_build_info = 1",
              len(r) == 1 and r[0]["value"][1] == "1", str(r))
            firing, deadline = [], time.time() + 20
            while time.time() < deadline:
                firing = [a["labels"]["alertname"] for a in prom_get(port, "/api/v1/alerts")
                          ["data"]["alerts"] if a["state"] == "firing"]
                if "HearthRestarted" in firing:
                    break
                time.sleep(0.5)
            C("HearthRestarted fires from the real uptime series", "HearthRestarted" in firing,
              str(firing))
            C("HearthDown does not (hearthd is up)", "HearthDown" not in firing, str(firing))
    finally:
        prom.send_signal(signal.SIGTERM)
        try:
            prom.wait(10)
        except subprocess.TimeoutExpired:
            prom.kill()
    srv.stop(C)


if __name__ == "__main__":
    H.run_main("test_ops", main)
