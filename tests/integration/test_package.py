#!/usr/bin/python3
"""
The install and packaging path (issue 14, item 5): `cmake --install` of this build into a temp
prefix; the Debian package built with `dpkg-buildpackage -us -uc -b` from a copy of the source
tree in a temp dir, its contents, installed (`dpkg -i` under CI=true, which runs as root on a
throwaway machine; `dpkg -x` into a temp root otherwise), and the installed unit's ExecStart run
as written with only its config file swapped for one the test writes: the installed example
configuration with free loopback ports, a temp data dir and a test JWKS. It must answer
/healthz, spawn its media worker processes, and exit 0 on SIGTERM. Every `#key = value` line of
the example, turned on, passes `--check-config`. Under strace, what hearthd does while starting,
serving and draining must fit the unit's sandbox: system calls in @system-service,
RestrictAddressFamilies, MemoryDenyWriteExecute.

Under CI=true a missing tool fails the test; elsewhere a missing dpkg-buildpackage or debhelper
skips it (exit 77), a missing strace or systemd-analyze skips only those checks.
"""

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import edge_support as E  # noqa: E402
import harness as H  # noqa: E402

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PKG = "hearth"
# Top-level entries of the tree that are not sources (build dirs, local state).
SKIP_TOP = re.compile(r"^(\.git|build|build-.*|obj-.*|hearth-data)$")
SKIP_ANY = {"node_modules", "__pycache__"}
# What a dpkg-buildpackage run in the tree leaves in debian/.
SKIP_DEBIAN = re.compile(
    r"^(\.debhelper|hearth|tmp|files|debhelper-build-stamp|.*\.substvars|.*\.log)$")


def need_tool(C, name, why):
    """True when `name` is on PATH. Missing: a failed check under CI, else a note."""
    if shutil.which(name):
        return True
    if H.in_ci():
        C(f"{name} is installed ({why})", False, "scripts/deps.sh test installs it")
    else:
        print(f"NOTE {name} is not installed: {why} not checked", flush=True)
    return False


def run(cmd, timeout=120, **kw):
    try:
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=timeout, **kw)
    except FileNotFoundError as e:  # a program the package should have installed
        return subprocess.CompletedProcess(cmd, 127, str(e))


def project_version():
    with open(os.path.join(SRC, "CMakeLists.txt")) as f:
        return re.search(r"project\(hearth VERSION ([0-9.]+)", f.read()).group(1)


def copy_tree(dst):
    def ignore(d, names):
        d = os.path.abspath(d)
        return [n for n in names if n in SKIP_ANY or (d == SRC and SKIP_TOP.match(n)) or
                (d == os.path.join(SRC, "debian") and SKIP_DEBIAN.match(n))]
    shutil.copytree(SRC, dst, ignore=ignore, symlinks=True)


def unit_values(text):
    """{key: [values]} of a unit file (all sections; later values append, as systemd does)."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;[" or "=" not in line:
            continue
        k, _, v = line.partition("=")
        out.setdefault(k.strip(), []).append(v.strip())
    return out


def rewrite_config(text, overrides):
    """The config text with overrides {section: {key: value}} ("" = top level): a key's active
    line replaced where it stands, or added at the end of its section (a new section at the
    end). Comments and `#key = value` lines stay as they are."""
    pending = {s: dict(kv) for s, kv in overrides.items()}
    out, section = [], ""

    def flush(sec):
        for k, v in pending.pop(sec, {}).items():
            out.append(f"{k} = {v}")

    for line in text.splitlines():
        s = line.strip()
        if s.startswith("[") and s.endswith("]"):
            flush(section)
            section = s[1:-1].strip()
        elif s and not s.startswith("#") and "=" in s:
            k = s.split("=", 1)[0].strip()
            if k in pending.get(section, {}):
                line = f"{k} = {pending[section].pop(k)}"
        out.append(line)
    flush(section)
    for sec in list(pending):
        out.append(f"[{sec}]")
        flush(sec)
    return "\n".join(out) + "\n"


def syscall_groups():
    """{"@group": set of names and @subgroups} from `systemd-analyze syscall-filter`."""
    groups, cur = {}, None
    for line in run(["systemd-analyze", "syscall-filter"]).stdout.splitlines():
        if line.startswith("@"):
            cur = groups.setdefault(line.split()[0], set())
        elif cur is not None and line.strip() and not line.strip().startswith("#"):
            cur.add(line.split()[0])
    return groups


def expand(groups, name, seen=None):
    seen = set() if seen is None else seen
    if name in seen:
        return set()
    seen.add(name)
    out = set()
    for x in groups.get(name, ()):
        out |= expand(groups, x, seen) if x.startswith("@") else {x}
    return out


class Daemon:
    """The unit's ExecStart, run from a temp dir with its log captured."""

    def __init__(self, argv, tmp, port, prefix=()):
        self.argv, self.port = list(prefix) + argv, port
        self.log_path = os.path.join(tmp, "hearthd.log")
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, cwd=tmp)

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def events(self, name):
        out = []
        for line in self.log().splitlines():
            if f'"event":"{name}"' in line:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out

    def wait_healthz(self, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                r = H.http(f"http://127.0.0.1:{self.port}", "GET", "/healthz", timeout=2)
                if r.status == 200:
                    return r
            except OSError:
                pass
            time.sleep(0.1)
        return None

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self, timeout=20):
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None


def check_cmake_install(args, C):
    prefix = os.path.join(H.make_tmp("hearth-pkg-prefix-"), "x")
    p = run(["cmake", "--install", args.build_dir, "--prefix", prefix])
    C("cmake --install into a temp prefix", p.returncode == 0, p.stdout[-2000:])
    for rel in ("bin/hearthd", "bin/hearthctl"):
        path = os.path.join(prefix, rel)
        C(f"cmake --install gives {rel}, executable", os.access(path, os.X_OK), path)
    for rel in ("lib/systemd/system/hearthd.service",
                "share/doc/hearth/examples/hearthd.conf.example",
                "share/hearth/ops/grafana-hearth.json", "share/hearth/ops/alerts.yml"):
        C(f"cmake --install gives {rel}", os.path.isfile(os.path.join(prefix, rel)))
    if os.access(os.path.join(prefix, "bin/hearthd"), os.X_OK):
        v = run([os.path.join(prefix, "bin/hearthd"), "--version"]).stdout.strip()
        C.eq("the installed hearthd --version", v, f"hearthd {project_version()}")


def build_deb(C, tmp):
    """dpkg-buildpackage in a copy of the tree; the .deb's path, or None."""
    src = os.path.join(tmp, f"{PKG}-{project_version()}")
    copy_tree(src)
    env = dict(os.environ, DEB_BUILD_OPTIONS=f"nocheck parallel={os.cpu_count() or 1}",
               LC_ALL="C.UTF-8")
    log_path = os.path.join(tmp, "dpkg-buildpackage.log")
    t0 = time.monotonic()
    with open(log_path, "w") as log:
        p = subprocess.run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src, env=env,
                           stdout=log, stderr=subprocess.STDOUT, timeout=1100)
    dt = time.monotonic() - t0
    with open(log_path, errors="replace") as f:
        tail = f.read()[-4000:]
    if not C("dpkg-buildpackage -us -uc -b exits 0", p.returncode == 0, tail):
        return None
    C.info("package build time", f"{dt:.0f} s")
    debs = [f for f in os.listdir(tmp) if re.fullmatch(rf"{PKG}_[^_]+_[^_]+\.deb", f)]
    if not C.eq("one .deb of the package next to the tree", len(debs), 1):
        return None
    return os.path.join(tmp, debs[0])


def check_deb(C, deb, tmp):
    listing = run(["dpkg-deb", "-c", deb]).stdout
    names = {line.split()[-1].lstrip(".") for line in listing.splitlines() if line.strip()}
    for path in ("/usr/bin/hearthd", "/usr/bin/hearthctl", "/lib/systemd/system/hearthd.service",
                 "/usr/share/doc/hearth/examples/hearthd.conf.example",
                 "/usr/share/doc/hearth/copyright", "/usr/share/hearth/ops/alerts.yml",
                 "/usr/share/hearth/ops/grafana-hearth.json"):
        C(f"dpkg-deb -c lists {path}", path in names)
    fields = run(["dpkg-deb", "-f", deb, "Version", "Depends"]).stdout
    version = re.search(r"^Version: (.*)$", fields, re.M)
    C.eq("the package version is CMake's", version and version.group(1), project_version())
    depends = re.search(r"^Depends: (.*)$", fields, re.M)
    depends = depends.group(1) if depends else ""
    # libuv from ${shlibs:Depends}; the evlib plugin lws loads at run time is named by hand.
    for dep in ("libuv1", "libwebsockets17", "libwebsockets-evlib-uv", "libc6"):
        C(f"Depends names {dep}", re.search(rf"(^|[ ,]){re.escape(dep)}\b", depends), depends)
    # dh_installsystemd's part of the maintainer scripts: the unit is enabled on install.
    control = os.path.join(tmp, "control")
    run(["dpkg-deb", "-e", deb, control])
    postinst = ""
    if os.path.exists(os.path.join(control, "postinst")):
        with open(os.path.join(control, "postinst")) as f:
            postinst = f.read()
    C("postinst enables hearthd.service (deb-systemd-helper)",
      "deb-systemd-helper" in postinst and "hearthd.service" in postinst, postinst[-1500:])


def install(C, deb, tmp):
    """The root the package is in: / after dpkg -i (CI), else a temp root (dpkg -x)."""
    if H.in_ci():
        p = run(["dpkg", "-i", deb], timeout=300)
        C("dpkg -i installs the package", p.returncode == 0, p.stdout[-2000:])
        return "/" if p.returncode == 0 else None
    root = os.path.join(tmp, "root")
    p = run(["dpkg", "-x", deb, root])
    C("dpkg -x extracts the package", p.returncode == 0, p.stdout[-2000:])
    return root if p.returncode == 0 else None


def check_config_keys(C, hearthd, example, tmp):
    p = run([hearthd, "--config", example, "--check-config"])
    C("the example configuration passes hearthd --check-config", p.returncode == 0, p.stdout)
    with open(example) as f:
        text = f.read()
    all_on, n = re.subn(r"(?m)^#([a-z_]+ = )", r"\1", text)
    path = os.path.join(tmp, "all-on.conf")
    with open(path, "w") as f:
        f.write(all_on)
    p = run([hearthd, "--config", path, "--check-config"])
    C(f"with its {n} `#key = value` lines on, too", n > 0 and p.returncode == 0, p.stdout)


def check_unit(C, unit_text, example_text, hearthd):
    u = unit_values(unit_text)
    C("no @VAR@ left in the installed unit", not re.search(r"@[A-Z_]+@", unit_text))
    for key, want in (("DynamicUser", "yes"), ("StateDirectory", "hearth"),
                      ("KillSignal", "SIGTERM"), ("Restart", "on-failure"),
                      ("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"),
                      ("MemoryDenyWriteExecute", "yes")):
        C.eq(f"unit {key}", u.get(key, [None])[-1], want)
    C("unit CapabilityBoundingSet is empty", u.get("CapabilityBoundingSet") == [""],
      u.get("CapabilityBoundingSet"))
    m = re.search(r"(?m)^data_dir = (\S+)", example_text)
    C.eq("the example's data_dir is the unit's StateDirectory",
         m and m.group(1), "/var/lib/" + u.get("StateDirectory", ["?"])[-1])
    # A configuration error is not restarted: its exit status is the one the unit names.
    p = run([hearthd, "--set", "no_such.key=1"])
    C.eq("a configuration error exits with RestartPreventExitStatus",
         str(p.returncode), u.get("RestartPreventExitStatus", [None])[-1])
    # The drain may take up to the largest resume.drain_timeout_ms hearthd accepts.
    p = run([hearthd, "--set", "resume.drain_timeout_ms=999999999", "--check-config"])
    m = re.search(r"in \d+\.\.(\d+)", p.stdout)
    stop_s = u.get("TimeoutStopSec", ["0"])[-1]
    C("unit TimeoutStopSec exceeds the longest drain", m and stop_s.isdigit() and
      int(stop_s) * 1000 > int(m.group(1)), f"{stop_s} s, drain up to {m and m.group(1)} ms")


def served_config(example_text, tmp, port, jwks):
    """The example with loopback, free ports, a temp data dir, a test JWKS, two worker processes."""
    return rewrite_config(example_text, {
        "": {"listen": f"127.0.0.1:{port}", "data_dir": os.path.join(tmp, "data"),
             "public_url": f"ws://127.0.0.1:{port}"},
        "auth": {"jwks_file": jwks},
        "media": {"host": "127.0.0.1", "port": "0", "tcp_port": "0", "workers": "2",
                  "isolation": "process"},
        "turn": {"host": "127.0.0.1", "udp_port": "0", "tcp_port": "0", "tls_port": "0",
                 "announce": "127.0.0.1"},
    })


def check_sandbox(C, unit, argv, tmp, port):
    """Run under strace: every system call, socket family and executable mapping must fit."""
    u = unit_values(unit)
    trace = os.path.join(tmp, "strace.out")
    # -D: strace runs as a detached grandchild, so the process started is hearthd itself.
    d = Daemon(argv, tmp, port, prefix=["strace", "-f", "-q", "-D", "-o", trace])
    try:
        ok = d.wait_healthz(timeout=30) is not None
        C("under strace: /healthz answers 200", ok, d.log()[-2000:])
        if ok:
            H.http(f"http://127.0.0.1:{port}", "GET", "/metrics")
            C("under strace: SIGTERM -> exit 0", d.stop() == 0, d.log()[-2000:])
    finally:
        d.kill()
    # The tracer writes the main process's exit last.
    deadline, done, text = time.monotonic() + 10, f"{d.proc.pid} +++ ", ""
    while time.monotonic() < deadline:
        if os.path.exists(trace):
            with open(trace, errors="replace") as f:
                text = f.read()
        if done in text:
            break
        time.sleep(0.2)
    lines = text.splitlines()
    calls = set()
    for line in lines:
        m = re.match(r"^\d+\s+(?:<\.\.\. )?([a-z_0-9]+)[( ]", line)
        if m and not line.split(None, 1)[1].startswith(("+++", "---")):
            calls.add(m.group(1))
    # systemd.exec(5): allow lists add up, a `~` list takes its calls away again.
    allowed, denied, groups = set(), set(), syscall_groups()
    for spec in u.get("SystemCallFilter", []):
        into = denied if spec.startswith("~") else allowed
        for name in spec.lstrip("~").split():
            into |= expand(groups, name) if name.startswith("@") else {name}
    allowed -= denied
    outside = sorted(c for c in calls if c not in allowed)
    C(f"{len(calls)} system calls, all in SystemCallFilter", calls and not outside,
      f"outside: {outside}")
    families = set(re.findall(r"\b(?:socket|socketpair)\((AF_[A-Z0-9]+)", "\n".join(lines)))
    permitted = set(u.get("RestrictAddressFamilies", [""])[-1].split())
    C(f"socket families {sorted(families)} in RestrictAddressFamilies",
      families and families <= permitted, f"permitted {sorted(permitted)}")
    # ProtectProc=invisible, ProcSubset=pid: only our own processes' entries in /proc.
    procs = sorted({p for p in re.findall(r'"(/proc(?:/[^"]*)?)"', "\n".join(lines))
                    if not re.match(r"^/proc/(self|thread-self|\d+)(/|$)", p)})
    C("/proc: only processes' own entries (ProcSubset=pid)", not procs, f"also {procs[:10]}")
    wx = [ln for ln in lines if re.search(r"\b(mmap|mprotect|pkey_mprotect)\(", ln) and
          "PROT_EXEC" in ln and ("PROT_WRITE" in ln or "mprotect(" in ln)]
    C("no writable+executable mapping, no mprotect to PROT_EXEC (MemoryDenyWriteExecute)",
      not wx, "\n".join(wx[:5]))


def main(args, C):
    with C.section("cmake --install"):
        check_cmake_install(args, C)

    for tool in ("dpkg-buildpackage", "dh"):
        if shutil.which(tool) is None:
            msg = f"{tool} is not installed (apt-get install dpkg-dev debhelper)"
            if H.in_ci():
                C(f"{tool} is installed", False, msg)
                return
            raise H.Skip(msg)
    tmp = H.make_tmp("hearth-pkg-")
    deb = root = None
    with C.section("the package builds"):
        deb = build_deb(C, tmp)
    if not deb:
        return
    with C.section("the package's contents"):
        check_deb(C, deb, tmp)
    try:
        with C.section("installed"):
            root = install(C, deb, tmp)
        if root:
            run_installed(args, C, root, tmp)
    finally:
        if H.in_ci() and root == "/":
            p = run(["dpkg", "-r", PKG], timeout=300)
            C("dpkg -r removes the package", p.returncode == 0 and
              not os.path.exists("/usr/bin/hearthd"), p.stdout[-2000:])


def run_installed(args, C, root, tmp):
    at = lambda path: os.path.join(root, path.lstrip("/"))  # noqa: E731
    hearthd, hearthctl = at("/usr/bin/hearthd"), at("/usr/bin/hearthctl")
    unit_path = at("/lib/systemd/system/hearthd.service")
    with open(unit_path) as f:
        unit = f.read()
    with open(at("/usr/share/doc/hearth/examples/hearthd.conf.example")) as f:
        example = f.read()

    with C.section("the example configuration"):
        check_config_keys(C, hearthd, at("/usr/share/doc/hearth/examples/hearthd.conf.example"),
                          tmp)
    with C.section("the unit"):
        check_unit(C, unit, example, hearthd)
        if need_tool(C, "systemd-analyze", "systemd-analyze verify"):
            verify = unit_path
            if root != "/":  # verify checks that ExecStart's program exists: the extracted one
                verify = os.path.join(tmp, "hearthd.service")
                with open(verify, "w") as f:
                    f.write(re.sub(r"(?m)^ExecStart=(\S+)",
                                   lambda m: "ExecStart=" + at(m.group(1)), unit))
            p = run(["systemd-analyze", "verify", verify])
            C("systemd-analyze verify: no complaint", p.returncode == 0 and not p.stdout.strip(),
              p.stdout)

    u = unit_values(unit)
    argv = shlex.split(u["ExecStart"][-1].lstrip("-@:+!"))
    conf = argv[argv.index("--config") + 1] if "--config" in argv else None
    C.eq("ExecStart reads the file ConditionPathExists waits for", conf,
         u.get("ConditionPathExists", [None])[-1])
    if conf is None:
        return
    port = E.free_port()
    keys = [H.Key.ed25519("pkg")]
    jwks = os.path.join(tmp, "jwks.json")
    H.write_jwks(jwks, keys)
    test_conf = os.path.join(tmp, "hearthd.conf")
    with open(test_conf, "w") as f:
        f.write(served_config(example, tmp, port, jwks))
    argv[argv.index("--config") + 1] = test_conf
    argv[0] = at(argv[0])
    with C.section("ExecStart as written, on the example configuration"):
        H.log("running: " + " ".join(argv))
        d = Daemon(argv, tmp, port)
        try:
            r = d.wait_healthz()
            C("GET /healthz -> 200", r is not None and r.status == 200, d.log()[-3000:])
            ready = d.events("media.ready")
            C.eq("two media worker processes (the installed binary started itself)",
                 len({e.get("pid") for e in ready if e.get("pid")}), 2)
            p = run([hearthctl, "--url", f"http://127.0.0.1:{port}", "--data-dir",
                     os.path.join(tmp, "data"), "rooms"])
            C("the installed hearthctl lists the rooms", p.returncode == 0, p.stdout)
            t0 = time.monotonic()
            rc = d.stop()
            C("SIGTERM -> exit 0", rc == 0, f"exit {rc} after {time.monotonic() - t0:.1f} s\n"
              + d.log()[-2000:])
        finally:
            d.kill()
    with C.section("the sandbox fits what hearthd does"):
        if need_tool(C, "strace", "the system calls against the unit's filter") and \
           need_tool(C, "systemd-analyze", "the system call groups"):
            check_sandbox(C, unit, argv, tmp, port)


if __name__ == "__main__":
    H.run_main("the Debian package and cmake --install", main)
