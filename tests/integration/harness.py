"""
Shared harness for hearth's integration tests.

Every test file is a standalone script (run by ctest as
`/usr/bin/python3 tests/integration/test_X.py --build-dir BUILD`). It starts
real `hearthd` processes on loopback with a generated configuration in a fresh
temporary directory, drives them with independently written clients (Debian's
python3-websockets 10.4, PyJWT 2.6 + python3-cryptography, urllib), prints one
line per check and ends with `N passed, N failed`; the exit status is non-zero
when anything failed.

Only the standard library and those Debian modules are used.
"""

import argparse
import asyncio
import atexit
import base64
import contextlib
import glob
import hashlib
import hmac
import itertools
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.error
import urllib.request
import uuid

import jwt  # PyJWT 2.6
import websockets
import websockets.exceptions
from websockets.legacy.client import WebSocketClientProtocol
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

ISSUER = "https://id.hearth.test"
AUDIENCE = "hearth.test"

# --------------------------------------------------------------------------------------------
# Command line, checks and reporting
# --------------------------------------------------------------------------------------------


def parse_args(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--build-dir", required=True, help="CMake build directory holding hearthd")
    p.add_argument("--keep", action="store_true", help="keep temporary directories")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)
    args.build_dir = os.path.abspath(args.build_dir)
    global KEEP_TMP, VERBOSE
    KEEP_TMP = args.keep
    VERBOSE = args.verbose
    return args


KEEP_TMP = False
VERBOSE = False
_SERVERS = []  # every Server started by this process, for log tails and cleanup


def log(msg):
    print(f"  .. {msg}", flush=True)


class Check:
    """Counts and prints checks: one line each, `PASS name` or `FAIL name: detail`."""

    def __init__(self, title=None):
        self.passed = 0
        self.failed = 0
        self.failures = []
        self.started = time.monotonic()
        if title:
            print(f"== {title}", flush=True)

    def __call__(self, name, cond, detail=""):
        if cond:
            self.passed += 1
            print(f"PASS {name}" + (f" ({detail})" if detail and VERBOSE else ""), flush=True)
        else:
            self.failed += 1
            self.failures.append(name)
            print(f"FAIL {name}" + (f": {detail}" if detail else ""), flush=True)
        return bool(cond)

    def eq(self, name, got, want):
        return self(name, got == want, f"got {got!r}, want {want!r}")

    def info(self, name, detail):
        """A measurement that is itself checked elsewhere; printed, not counted."""
        print(f"INFO {name}: {detail}", flush=True)

    @contextlib.contextmanager
    def section(self, name):
        """Run a block; an exception in it is one failed check and the file goes on."""
        print(f"-- {name}", flush=True)
        try:
            yield
        except Exception as e:  # noqa: BLE001 - a test must report, not die
            self(f"{name}: completed without exception", False, f"{type(e).__name__}: {e}")
            traceback.print_exc(file=sys.stdout)
            for s in _SERVERS:
                if s.proc is not None:
                    s.print_log_tail(30)

    def finish(self):
        """Print the summary (and server log tails on failure); return the exit status."""
        if self.failed:
            for s in _SERVERS:
                s.print_log_tail(40)
            print("failed checks:", flush=True)
            for f in self.failures:
                print(f"  - {f}", flush=True)
        dt = time.monotonic() - self.started
        print(f"(took {dt:.1f} s)", flush=True)
        print(f"{self.passed} passed, {self.failed} failed", flush=True)
        return 1 if self.failed or self.passed == 0 else 0


class Skip(Exception):
    """This test cannot run here (a peer is not installed): run_main prints why and exits
    SKIP_CODE, which ctest reports as skipped. Under CI=true a missing peer fails instead."""


SKIP_CODE = 77


def in_ci():
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def run_load(C, cmd, timeout):
    """Runs hearth-load (cmd, with --json), echoing its stderr; returns its JSON summary, or
    None after a failed check when it printed none."""
    log("running: " + " ".join(cmd))
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       timeout=timeout)
    sys.stdout.write(p.stderr)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    if not C("hearth-load printed its JSON summary", bool(lines), p.stdout[-500:]):
        return None
    r = json.loads(lines[-1])
    r["_exit"] = p.returncode
    return r


def run_main(title, body):
    """Standard entry: parse args, run body(args, C) (sync or async), exit with the status."""
    args = parse_args()
    C = Check(title)
    try:
        res = body(args, C)
        if asyncio.iscoroutine(res):
            asyncio.run(res)
    except Skip as e:
        print(f"SKIP: {e}", flush=True)
        C.skipped = True
    except Exception as e:  # noqa: BLE001
        C("test body completed without exception", False, f"{type(e).__name__}: {e}")
        traceback.print_exc(file=sys.stdout)
    finally:
        for s in list(_SERVERS):
            if s.proc is not None and s.proc.poll() is None:
                s.kill()
        for pg in list(_PG_SERVERS):
            pg.stop()
    if getattr(C, "skipped", False) and not C.failed:
        _cleanup_tmp()
        sys.exit(SKIP_CODE)
    rc = C.finish()
    _cleanup_tmp()
    sys.exit(rc)


# --------------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------------


class HttpResult:
    def __init__(self, status, body, headers):
        self.status = status
        self.raw = body
        self.headers = headers
        self.json = None
        try:
            self.json = json.loads(body.decode("utf-8")) if body else None
        except (ValueError, UnicodeDecodeError):
            self.json = None

    @property
    def text(self):
        return self.raw.decode("utf-8", "replace")

    @property
    def error_code(self):
        j = self.json
        if isinstance(j, dict) and isinstance(j.get("error"), dict):
            return j["error"].get("code")
        return None

    def __iter__(self):  # status, json = http(...)
        return iter((self.status, self.json))

    def __repr__(self):
        return f"<HTTP {self.status} {self.text[:300]!r}>"


def http(base_url, method, path, body=None, headers=None, timeout=10, context=None):
    """One request with urllib. body: dict/list (sent as JSON), bytes/str (sent as is) or None.
    context: an ssl.SSLContext for https:// (None: the default, verifying against the system)."""
    data = None
    hdrs = dict(headers or {})
    if body is not None:
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            data = body.encode()
            hdrs.setdefault("Content-Type", "application/json")
        else:
            data = body
            hdrs.setdefault("Content-Type", "application/json")
    elif method in ("POST", "PUT"):
        data = b""
    req = urllib.request.Request(base_url + path, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=context) as r:
            return HttpResult(r.status, r.read(), dict(r.headers.items()))
    except urllib.error.HTTPError as e:
        body = e.read() if e.fp is not None else b""
        return HttpResult(e.code, body, dict(e.headers.items()) if e.headers else {})


def raw_http(port, request_bytes, timeout=5):
    """Send raw bytes to 127.0.0.1:port, read the response until close or a complete body.

    Returns HttpResult, or raises on a connection error before any response byte."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    buf = b""
    try:
        try:
            s.sendall(request_bytes)
        except (BrokenPipeError, ConnectionResetError):
            pass
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                break
            if not chunk:
                break
            buf += chunk
            head, sep, rest = buf.partition(b"\r\n\r\n")
            if sep:
                cl = None
                for line in head.split(b"\r\n")[1:]:
                    k, _, v = line.partition(b":")
                    if k.strip().lower() == b"content-length":
                        cl = int(v.strip())
                if cl is not None and len(rest) >= cl:
                    break
    finally:
        s.close()
    if not buf:
        raise ConnectionError("no response")
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        headers[k.strip().decode()] = v.strip().decode()
    return HttpResult(status, rest, headers)


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------

_TMP_DIRS = []


def _cleanup_tmp():
    if KEEP_TMP:
        for d in _TMP_DIRS:
            print(f"kept {d}")
        return
    for d in _TMP_DIRS:
        shutil.rmtree(d, ignore_errors=True)


def make_tmp(prefix="hearth-it-"):
    d = tempfile.mkdtemp(prefix=prefix)
    _TMP_DIRS.append(d)
    return d


def hearthd_path(build_dir):
    return os.path.join(build_dir, "hearthd")


def hearthctl_path(build_dir):
    return os.path.join(build_dir, "hearthctl")


class ServerError(Exception):
    pass


class Server:
    """One hearthd on 127.0.0.1 with a free port, in its own temp dir.

    profile: dev|small|standard|large, written into the config file.
    config: extra config file entries {"section": {"key": "value"}} ("" = top level).
    sets: extra `--set SECTION.KEY=VALUE` strings.
    jwks_file/issuers/audience: the [auth] keys needed by every non-dev profile.
    config_file: a config file of the project's (an example) to run instead of a generated one;
    the test's own data dir, debug logs, loopback ports and `sets` still apply.
    """

    _ids = itertools.count(1)

    def __init__(self, build_dir, profile="dev", sets=(), config=None, jwks_file=None,
                 issuers=ISSUER, audience=AUDIENCE, name=None, tmp=None, extra_args=(),
                 config_file=None):
        self.build_dir = build_dir
        self.binary = hearthd_path(build_dir)
        self.profile = profile
        self.sets = list(sets)
        self.config = config or {}
        self.jwks_file = jwks_file
        self.issuers = issuers
        self.audience = audience
        self.extra_args = list(extra_args)
        self.name = name or f"hearthd-{next(self._ids)}"
        self.tmp = tmp or make_tmp(f"hearth-it-{self.name}-")
        self.data_dir = os.path.join(self.tmp, "data")
        self.config_file = config_file
        self.config_path = config_file or os.path.join(self.tmp, "hearthd.conf")
        self.port_file = os.path.join(self.tmp, "port")
        self.log_path = os.path.join(self.tmp, "hearthd.log")
        self.proc = None
        self.port = None
        self.starts = 0
        self.keep_port = False  # restart(): come back on the same port, as a real restart does
        self.ssl_context = None  # set (an ssl.SSLContext) when the server speaks TLS: https, wss
        self._logf = None
        _SERVERS.append(self)

    # -- configuration --------------------------------------------------------------------

    def write_config(self):
        if self.config_file:
            return
        top = {"profile": self.profile, "data_dir": self.data_dir, "log_level": "debug"}
        top.update(self.config.get("", {}))
        sections = {}
        if self.profile != "dev" or self.jwks_file:
            auth = {}
            if self.jwks_file:
                auth["jwks_file"] = self.jwks_file
            if self.issuers:
                auth["issuers"] = self.issuers
            if self.audience:
                auth["audience"] = self.audience
            sections["auth"] = auth
        for sec, kv in self.config.items():
            if sec == "":
                continue
            sections.setdefault(sec, {}).update(kv)
        lines = ["# generated by tests/integration/harness.py"]
        lines += [f"{k} = {v}" for k, v in top.items() if v is not None]
        for sec, kv in sections.items():
            lines.append("")
            lines.append(f"[{sec}]")
            lines += [f"{k} = {v}" for k, v in kv.items() if v is not None]
        with open(self.config_path, "w") as f:
            f.write("\n".join(lines) + "\n")

    def command(self):
        # Media on loopback and free ports whatever the profile (tests run side by side).
        port = self.port if self.keep_port and self.port else 0
        cmd = [self.binary, "--config", self.config_path, "--listen", f"127.0.0.1:{port}",
               "--port-file", self.port_file, "--set", "media.host=127.0.0.1",
               "--set", "media.port=0", "--set", "media.tcp_port=0",
               # one media worker in hearthd (not one process per core): a test that means
               # several sets media.workers itself
               "--set", "media.workers=1",
               # TURN too: loopback, ports the kernel picks (a test's own --set comes later)
               "--set", "turn.host=127.0.0.1", "--set", "turn.udp_port=0",
               "--set", "turn.tcp_port=0", "--set", "turn.tls_port=0"]
        if self.config_file:
            cmd += ["--data-dir", self.data_dir, "--set", "log_level=debug"]
        for s in self.sets:
            cmd += ["--set", s]
        return cmd + self.extra_args

    # -- lifecycle ------------------------------------------------------------------------

    def start(self, timeout=10.0):
        """Start and wait for /readyz == 200. Raises ServerError (with the log tail)."""
        if not os.path.exists(self.binary):
            raise ServerError(f"{self.binary} does not exist (build hearthd first)")
        self.write_config()
        os.makedirs(self.data_dir, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.port_file)
        self.starts += 1
        self._logf = open(self.log_path, "ab")
        self._logf.write(f"==== start #{self.starts}: {' '.join(self.command())}\n".encode())
        self._logf.flush()
        self.proc = subprocess.Popen(self.command(), stdout=self._logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.tmp)
        deadline = time.monotonic() + timeout
        self.port = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                rc = self.proc.returncode
                self.proc = None
                raise ServerError(f"{self.name} exited with {rc} during start-up:\n"
                                  + self.log_tail(30))
            if self.port is None:
                self.port = self._read_port()
            if self.port is not None:
                try:
                    r = http(self.base_url, "GET", "/readyz", timeout=2,
                             context=self.ssl_context)
                    if r.status == 200:
                        return self
                except (urllib.error.URLError, ConnectionError, OSError):
                    pass
            time.sleep(0.05)
        raise ServerError(f"{self.name} not ready within {timeout} s (port {self.port}):\n"
                          + self.log_tail(30))

    def _read_port(self):
        try:
            with open(self.port_file) as f:
                txt = f.read().strip()
        except FileNotFoundError:
            return None
        if not txt:
            return None
        txt = txt.rsplit(":", 1)[-1]
        try:
            p = int(txt)
        except ValueError:
            return None
        return p if 0 < p < 65536 else None

    def run_once(self, timeout=10.0, args=None):
        """Run hearthd expecting it to exit by itself (e.g. a refused configuration).

        Returns (returncode, output)."""
        self.write_config()
        os.makedirs(self.data_dir, exist_ok=True)
        cmd = self.command() + list(args or [])
        try:
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, cwd=self.tmp, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            return None, (e.stdout or b"").decode("utf-8", "replace")
        out = p.stdout.decode("utf-8", "replace")
        with open(self.log_path, "a") as f:
            f.write(f"==== run_once: {' '.join(cmd)}\n{out}\n")
        return p.returncode, out

    def stop(self, C=None, timeout=5.0, label=None, sig=signal.SIGTERM):
        """SIGTERM (or sig); assert (through C when given) exit status 0 within `timeout` s.

        Returns (returncode or None on timeout, seconds)."""
        if self.proc is None:
            return None, 0.0
        t0 = time.monotonic()
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            rc = None
            self.proc.kill()
            self.proc.wait()
        dt = time.monotonic() - t0
        self.proc = None
        if self._logf:
            self._logf.close()
            self._logf = None
        if C is not None:
            C(label or f"{self.name}: SIGTERM -> exit 0 within {timeout:.0f} s", rc == 0,
              f"exit status {rc} after {dt:.2f} s" + ("" if rc == 0 else "\n" + self.log_tail(20)))
        return rc, dt

    async def astop(self, C=None, timeout=5.0, label=None):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, lambda: self.stop(C, timeout, label))

    def kill(self):
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            self.proc.wait()
            self.proc = None
        if self._logf:
            self._logf.close()
            self._logf = None

    def restart(self, sig=signal.SIGTERM, C=None, timeout=10.0):
        """Stop with sig (SIGKILL: kill -9, no drain) and start again on the same port and data
        dir. Returns the monotonic time the server was ready again."""
        port = self.port
        if sig == signal.SIGKILL:
            self.kill()
        else:
            self.stop(C, label=f"{self.name}: {signal.Signals(sig).name} -> exit 0")
        self.port = port
        self.keep_port = True
        deadline = time.monotonic() + timeout
        while True:  # the old socket may linger a moment
            try:
                self.start(timeout)
                return time.monotonic()
            except ServerError:
                if time.monotonic() > deadline:
                    raise
                self.port = port
                time.sleep(0.2)

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    # -- logs -----------------------------------------------------------------------------

    def log_tail(self, n=40):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(lines[-n:])

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def print_log_tail(self, n=40):
        print(f"---- last {n} lines of {self.name} log ({self.log_path}) ----", flush=True)
        print(self.log_tail(n), flush=True)
        print("---- end of log ----", flush=True)

    # -- addresses and requests -----------------------------------------------------------

    @property
    def base_url(self):
        return f"{'https' if self.ssl_context else 'http'}://127.0.0.1:{self.port}"

    def ws_url(self, v=None, path="/v1/signal"):
        u = f"{'wss' if self.ssl_context else 'ws'}://127.0.0.1:{self.port}{path}"
        return u if v is None else f"{u}?v={v}"

    def http(self, method, path, body=None, headers=None, timeout=10):
        return http(self.base_url, method, path, body, headers, timeout, self.ssl_context)

    async def ahttp(self, method, path, body=None, headers=None, timeout=10):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            None, lambda: self.http(method, path, body, headers, timeout))

    # -- admin ----------------------------------------------------------------------------

    @property
    def admin_key_path(self):
        return os.path.join(self.data_dir, "admin.key")

    def admin_key(self):
        with open(self.admin_key_path) as f:
            return f.read().strip()

    def admin(self, method, path, body=None, key=None, timeout=10):
        k = self.admin_key() if key is None else key
        return self.http(method, "/v1/admin" + path, body, {"Authorization": f"Bearer {k}"},
                         timeout)

    async def aadmin(self, method, path, body=None, key=None, timeout=10):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, lambda: self.admin(method, path, body, key,
                                                                   timeout))

    def admin_events(self, **q):
        qs = "&".join(f"{k}={urllib.request.quote(str(v))}" for k, v in q.items()
                      if v is not None)
        return self.admin("GET", "/events" + (f"?{qs}" if qs else ""))

    def admin_ticket(self, room, user, device=None, sid=None, grants=None, protocol_version=None):
        body = {"room": room, "user": user}
        for k, v in (("device", device), ("sid", sid), ("grants", grants),
                     ("protocol_version", protocol_version)):
            if v is not None:
                body[k] = v
        return self.admin("POST", "/join-tickets", body)

    # -- tickets --------------------------------------------------------------------------

    def dev_ticket(self, room, user, device=None, protocol_version=None, body_extra=None):
        """POST /v1/join-tickets with the dev profile's X-User-Id / X-Device-Id headers."""
        hdrs = {"X-User-Id": user}
        if device is not None:
            hdrs["X-Device-Id"] = device
        body = {"room": room}
        if protocol_version is not None:
            body["protocol_version"] = protocol_version
        body.update(body_extra or {})
        return self.http("POST", "/v1/join-tickets", body, hdrs)

    def token_ticket(self, token, room, protocol_version=None, device_id=None, headers=None):
        hdrs = {"Authorization": f"Bearer {token}"}
        hdrs.update(headers or {})
        body = {"room": room}
        if protocol_version is not None:
            body["protocol_version"] = protocol_version
        if device_id is not None:
            body["device_id"] = device_id
        return self.http("POST", "/v1/join-tickets", body, hdrs)

    def metrics(self):
        return self.http("GET", "/metrics")

    def metric_samples(self):
        """/metrics as {(name, frozenset of (label, value)): value}; every line must parse."""
        r = self.metrics()
        assert r.status == 200, r
        out = {}
        for line in r.text.splitlines():
            if not line or line.startswith("#"):
                continue
            m = _SAMPLE.match(line)
            assert m, f"not a sample line: {line!r}"
            out[(m.group(1), frozenset(_LABEL.findall(m.group(2) or "")))] = float(m.group(3))
        return out


# A Prometheus sample line and its labels, written independently of src/metrics/prom.c.
_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


class Ctl:
    """hearthctl against one Server: run(args) -> (exit status, stdout, stderr)."""

    def __init__(self, build_dir, srv):
        self.bin = hearthctl_path(build_dir)
        self.srv = srv

    def run(self, *args, common=True, timeout=15):
        cmd = [self.bin]
        if common:
            cmd += ["--url", self.srv.base_url, "--data-dir", self.srv.data_dir]
        cmd += list(args)
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, timeout=timeout)
        out = p.stdout.decode("utf-8", "replace")
        err = p.stderr.decode("utf-8", "replace")
        if VERBOSE:
            print(f"     $ {' '.join(cmd)} -> {p.returncode}\n{out}{err}", flush=True)
        return p.returncode, out, err

    async def arun(self, *args, **kw):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, lambda: self.run(*args, **kw))


# --------------------------------------------------------------------------------------------
# PostgreSQL, for hearthd with store.backend = postgres
# --------------------------------------------------------------------------------------------

_PG_SERVERS = []

# The guard (tests/support/pg_server.h has the same): it waits for EOF on stdin, which comes
# when the test stops the server or dies in any way, then stops the server and removes its dir.
_PG_GUARD = r"""
import os, shutil, subprocess, sys
pg_ctl, top, user = sys.argv[1], sys.argv[2], sys.argv[3] or None
sys.stdin.buffer.read()
data = os.path.join(top, "data")
if os.path.exists(os.path.join(data, "postmaster.pid")):
    with open(os.path.join(top, "guard.log"), "ab") as log:
        subprocess.run([pg_ctl, "-D", data, "-m", "fast", "-w", "-t", "60", "stop"], stdout=log,
                       stderr=log, user=user, group=user and int(sys.argv[4]),
                       extra_groups=[] if user else None)
shutil.rmtree(top, ignore_errors=True)
"""


def pg_bindir():
    """PostgreSQL's server binaries: $HX_PG_BINDIR, else the newest /usr/lib/postgresql/<v>/bin
    (Debian keeps them off PATH). None when not installed."""
    env = os.environ.get("HX_PG_BINDIR")
    if env:
        return env if os.access(os.path.join(env, "initdb"), os.X_OK) else None
    found = [p for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")
             if p.split("/")[4].isdigit() and os.access(p, os.X_OK)]
    found.sort(key=lambda p: int(p.split("/")[4]))
    return os.path.dirname(found[-1]) if found else None


class PgServer:
    """A throwaway PostgreSQL server, as tests/support/pg_server.h starts one for the C tests:
    initdb into a fresh temp dir (trust, role "hearth"), a Unix socket in that dir and no TCP,
    fsync on. As root, initdb and postgres run as "nobody". Not installed: Skip (CI: an error).
    """

    USER = "hearth"

    def __init__(self):
        self.bindir = pg_bindir()
        if not self.bindir:
            why = (f"HX_PG_BINDIR={os.environ['HX_PG_BINDIR']} holds no initdb"
                   if os.environ.get("HX_PG_BINDIR") else
                   "PostgreSQL's server binaries are not installed"
                   " (no /usr/lib/postgresql/*/bin/initdb; apt-get install postgresql)")
            if in_ci():
                raise RuntimeError(why + " (CI=true: a missing peer fails the test)")
            raise Skip(why)
        self.dir = tempfile.mkdtemp(prefix="hx-pg-", dir="/tmp")  # short: the socket's path
        self.run_as, self.gid = None, None
        if os.geteuid() == 0:
            pw = pwd.getpwnam("nobody")
            self.run_as, self.gid = pw.pw_name, pw.pw_gid
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self.guard = subprocess.Popen(
            [sys.executable, "-c", _PG_GUARD, self.bin("pg_ctl"), self.dir, self.run_as or "",
             str(self.gid)], stdin=subprocess.PIPE, start_new_session=True)
        _PG_SERVERS.append(self)

    def bin(self, name):
        return os.path.join(self.bindir, name)

    def _run(self, *cmd):
        log = os.path.join(self.dir, "setup.log")
        r = subprocess.run(list(cmd), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           user=self.run_as, group=self.gid,
                           extra_groups=[] if self.run_as else None, timeout=120)
        with open(log, "ab") as f:
            f.write(r.stdout)
        if r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}):\n"
                               + r.stdout.decode("utf-8", "replace")[-2000:])

    def start(self):
        data = os.path.join(self.dir, "data")
        self._run(self.bin("initdb"), "-D", data, "-A", "trust", "-U", self.USER, "-E", "UTF8",
                  "--locale=C", "--no-sync")
        self._run(self.bin("pg_ctl"), "-D", data, "-l", os.path.join(self.dir, "server.log"),
                  "-o", f"-k {self.dir} -p 5432 -c listen_addresses='' -c fsync=on",
                  "-w", "-t", "60", "start")
        return self

    def url(self, db):
        """A libpq URI for database db on this server's socket."""
        return f"postgresql:///{db}?host={self.dir}&port=5432&user={self.USER}"

    def psql(self, db, sql):
        """Run sql with psql on the socket: (exit status, stdout, stderr); rows unaligned."""
        r = subprocess.run([self.bin("psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                            "-h", self.dir, "-p", "5432", "-U", self.USER, "-d", db, "-c", sql],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        return r.returncode, r.stdout.decode(), r.stderr.decode()

    def createdb(self, db):
        rc, out, err = self.psql("postgres", f"CREATE DATABASE {db}")
        if rc != 0:
            raise RuntimeError(f"CREATE DATABASE {db}: {err}")
        return db

    def stop(self):
        """Stop the server and remove its dir (through the guard)."""
        if self.guard is not None:
            self.guard.stdin.close()
            self.guard.wait(90)
            self.guard = None
        if self in _PG_SERVERS:
            _PG_SERVERS.remove(self)


def wait_until(fn, timeout=5.0, interval=0.05):
    """Poll fn() until truthy; return its last value."""
    deadline = time.monotonic() + timeout
    v = fn()
    while not v and time.monotonic() < deadline:
        time.sleep(interval)
        v = fn()
    return v


async def await_until(fn, timeout=5.0, interval=0.05):
    deadline = time.monotonic() + timeout
    v = await fn()
    while not v and time.monotonic() < deadline:
        await asyncio.sleep(interval)
        v = await fn()
    return v


# --------------------------------------------------------------------------------------------
# Tokens and JWKS
# --------------------------------------------------------------------------------------------


def b64url(b):
    if isinstance(b, str):
        b = b.encode()
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def _int_bytes(n, length):
    return n.to_bytes(length, "big")


class Key:
    """One signing key and its public JWK."""

    def __init__(self, kid, alg, private, secret=None):
        self.kid = kid
        self.alg = alg  # "EdDSA", "ES256", "HS256"
        self.private = private  # cryptography private key, or None for HS256
        self.secret = secret  # bytes for HS256

    @classmethod
    def ed25519(cls, kid):
        return cls(kid, "EdDSA", ed25519.Ed25519PrivateKey.generate())

    @classmethod
    def es256(cls, kid):
        return cls(kid, "ES256", ec.generate_private_key(ec.SECP256R1()))

    @classmethod
    def hs256(cls, kid, secret=None):
        return cls(kid, "HS256", None, secret or os.urandom(32))

    @property
    def signing_key(self):
        return self.secret if self.alg == "HS256" else self.private

    def public_raw(self):
        """Ed25519: the raw 32 public bytes (the JWK's x)."""
        return self.private.public_key().public_bytes(serialization.Encoding.Raw,
                                                      serialization.PublicFormat.Raw)

    def public_pem(self):
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def jwk(self, with_alg=True):
        if self.alg == "EdDSA":
            d = {"kty": "OKP", "crv": "Ed25519", "x": b64url(self.public_raw())}
        elif self.alg == "ES256":
            nums = self.private.public_key().public_numbers()
            d = {"kty": "EC", "crv": "P-256", "x": b64url(_int_bytes(nums.x, 32)),
                 "y": b64url(_int_bytes(nums.y, 32))}
        else:
            d = {"kty": "oct", "k": b64url(self.secret)}
        d["kid"] = self.kid
        d["use"] = "sig"
        if with_alg:
            d["alg"] = self.alg
        return d


def write_jwks(path, keys):
    """Write {"keys": [...]} atomically (rename), so a SIGHUP never sees half a file."""
    doc = {"keys": [k.jwk() for k in keys]}
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(doc, f, indent=1)
    os.replace(tmp, path)
    return doc


_DROP = object()


def claims(sub="alice", iss=ISSUER, aud=AUDIENCE, lifetime=600, iat=None, exp=None, nbf=None,
           jti=None, sid=None, device_id=None, grants=None, drop=(), **extra):
    """A claim set; every knob can break one claim. `drop` removes claims by name."""
    now = int(time.time())
    c = {"iss": iss, "aud": aud, "sub": sub}
    c["iat"] = now if iat is None else iat
    c["exp"] = (c["iat"] + lifetime) if exp is None else exp
    c["jti"] = jti or f"jti-{uuid.uuid4().hex}"
    if nbf is not None:
        c["nbf"] = nbf
    if sid is not None:
        c["sid"] = sid
    if device_id is not None:
        c["device_id"] = device_id
    if grants is not None:
        c["grants"] = grants
    c.update(extra)
    for k in drop:
        c.pop(k, None)
    return c


def mint(key, headers=None, alg=None, **kw):
    """Sign a token with PyJWT. kw go to claims(); headers are added to {"kid": key.kid}."""
    payload = kw.pop("payload", None) or claims(**kw)
    hdrs = {"kid": key.kid}
    hdrs.update(headers or {})
    if hdrs.get("kid") is None:
        hdrs.pop("kid")
    return jwt.encode(payload, key.signing_key, algorithm=alg or key.alg, headers=hdrs)


def mint_claims(key, **kw):
    """(token, claims) so that tests know jti/sid/iat."""
    c = claims(**kw)
    return mint(key, payload=c), c


def jws_raw(header, payload, signer=None):
    """Hand-made compact JWS: signer(signing_input) -> signature bytes (None = empty)."""
    h = b64url(json.dumps(header, separators=(",", ":")))
    p = b64url(json.dumps(payload, separators=(",", ":")))
    si = f"{h}.{p}".encode()
    sig = signer(si) if signer else b""
    return f"{h}.{p}.{b64url(sig)}"


def hs256_with_secret(secret, header, payload):
    """HS256 with an arbitrary secret (PyJWT refuses PEM-looking secrets, on purpose)."""
    return jws_raw(header, payload, lambda si: hmac.new(secret, si, hashlib.sha256).digest())


def tamper_payload(token, **changes):
    """Change claims in the payload, keep header and signature."""
    h, p, s = token.split(".")
    c = json.loads(b64url_decode(p))
    c.update(changes)
    return f"{h}.{b64url(json.dumps(c, separators=(',', ':')))}.{s}"


# --------------------------------------------------------------------------------------------
# Signaling client
# --------------------------------------------------------------------------------------------


class TimedProtocol(WebSocketClientProtocol):
    """Records when the peer's close frame arrived (monotonic), for latency measurements."""

    close_rcvd_at = None

    async def read_data_frame(self, max_size):
        frame = await super().read_data_frame(max_size)
        if frame is None and self.close_rcvd is not None and self.close_rcvd_at is None:
            self.close_rcvd_at = time.monotonic()
        return frame


class NoPongProtocol(TimedProtocol):
    """A client that never answers the server's WebSocket pings (a dead peer), counting them."""

    pings_seen = 0

    async def pong(self, data=b""):
        self.pings_seen += 1


class Closed(Exception):
    def __init__(self, code, reason=""):
        super().__init__(f"connection closed with {code} {reason!r}")
        self.code = code
        self.reason = reason


class Sig:
    """A signaling connection: JSON in, JSON out, with timeouts; keeps unread messages."""

    _ids = itertools.count(1)

    def __init__(self, ws, url):
        self.ws = ws
        self.url = url
        self.hello = None
        self.inbox = []  # messages received but not yet consumed
        self.seen = []  # every message received, in order
        self.close_code = None
        self.close_reason = None
        self.closed_at = None  # monotonic time the close frame (or EOF) was seen

    @classmethod
    async def connect(cls, url, read_hello=True, timeout=5.0, headers=None, answer_pings=True,
                      ssl=None, **kw):
        """ssl: an ssl.SSLContext for wss://; kw: more websockets.connect arguments."""
        if ssl is not None:
            kw["ssl"] = ssl
        ws = await asyncio.wait_for(
            websockets.connect(url, compression=None, ping_interval=None, max_size=None,
                               open_timeout=timeout, close_timeout=2,
                               create_protocol=TimedProtocol if answer_pings else NoPongProtocol,
                               extra_headers=headers, **kw),
            timeout + 1)
        s = cls(ws, url)
        if read_hello:
            s.hello = await s.recv(timeout)
        return s

    @property
    def is_closed(self):
        return self.close_code is not None

    def _closed(self, e):
        if self.close_code is None:
            rcvd = getattr(e, "rcvd", None)
            self.close_code = rcvd.code if rcvd is not None else 1006
            self.close_reason = rcvd.reason if rcvd is not None else ""
            t = getattr(self.ws, "close_rcvd_at", None)
            self.closed_at = t if t is not None else time.monotonic()

    async def send(self, msg):
        """Send a dict (as JSON) or a str / bytes / list of fragments as is."""
        if isinstance(msg, dict):
            msg = json.dumps(msg)
        try:
            await self.ws.send(msg)
        except websockets.exceptions.ConnectionClosed as e:
            self._closed(e)
            raise Closed(self.close_code, self.close_reason) from None

    async def _recv_raw(self, timeout):
        if self.close_code is not None:
            raise Closed(self.close_code, self.close_reason)
        try:
            raw = await asyncio.wait_for(self.ws.recv(), timeout)
        except websockets.exceptions.ConnectionClosed as e:
            self._closed(e)
            raise Closed(self.close_code, self.close_reason) from None
        try:
            m = json.loads(raw)
        except (ValueError, TypeError):
            m = {"type": "<non-json>", "raw": raw}
        self.seen.append(m)
        if VERBOSE:
            print(f"     <- {json.dumps(m)[:300]}", flush=True)
        return m

    async def recv(self, timeout=5.0):
        """Next message (buffered first). Raises asyncio.TimeoutError or Closed."""
        if self.inbox:
            return self.inbox.pop(0)
        return await self._recv_raw(timeout)

    async def wait_for(self, pred, timeout=5.0):
        """First message (buffered or new) satisfying pred; others stay in the inbox."""
        for i, m in enumerate(self.inbox):
            if pred(m):
                return self.inbox.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise asyncio.TimeoutError()
            m = await self._recv_raw(left)
            if pred(m):
                return m
            self.inbox.append(m)

    async def wait_type(self, typ, timeout=5.0, pred=None):
        return await self.wait_for(lambda m: m.get("type") == typ and (pred is None or pred(m)),
                                   timeout)

    async def request(self, typ, data=None, id=None, timeout=5.0, extra=None):
        """Send a request with an id, wait for the ack/error carrying that id."""
        rid = id if id is not None else f"r{next(self._ids)}"
        msg = {"type": typ, "id": rid}
        if data is not None:
            msg["data"] = data
        msg.update(extra or {})
        await self.send(msg)
        return await self.wait_reply(rid, timeout)

    async def wait_reply(self, rid, timeout=5.0):
        return await self.wait_for(
            lambda m: m.get("type") in ("ack", "error") and m.get("id") == rid, timeout)

    async def join(self, ticket, room, timeout=5.0, id=None):
        return await self.request("join", {"ticket": ticket, "room": room}, id=id,
                                  timeout=timeout)

    async def wait_close(self, timeout=5.0):
        """Read (and keep) everything until the server closes; return the close code.

        Raises asyncio.TimeoutError when the connection is still open after timeout."""
        deadline = time.monotonic() + timeout
        while self.close_code is None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise asyncio.TimeoutError()
            try:
                m = await self._recv_raw(left)
                self.inbox.append(m)
            except Closed:
                break
        return self.close_code

    async def still_open(self, timeout=0.3):
        """True when nothing closed the connection within timeout (messages are kept)."""
        try:
            await self.wait_close(timeout)
            return False
        except asyncio.TimeoutError:
            return True

    def take(self, typ, pred=None):
        """Remove and return the first buffered message of that type, or None."""
        for i, m in enumerate(self.inbox):
            if m.get("type") == typ and (pred is None or pred(m)):
                return self.inbox.pop(i)
        return None

    async def close(self):
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(), 3)


def err_code(msg):
    """error.data.code of a message, or None."""
    if isinstance(msg, dict) and msg.get("type") == "error" and isinstance(msg.get("data"), dict):
        return msg["data"].get("code")
    return None


def short(m, n=300):
    try:
        return json.dumps(m)[:n]
    except (TypeError, ValueError):
        return repr(m)[:n]


async def join_with_ticket(url, ticket_json, room=None, timeout=5.0):
    """Connect to url, join with ticket_json["ticket"]. Returns (Sig, reply)."""
    s = await Sig.connect(url, timeout=timeout)
    reply = await s.join(ticket_json["ticket"], room or ticket_json["room"], timeout=timeout)
    return s, reply


@atexit.register
def _atexit_kill():
    for s in _SERVERS:
        with contextlib.suppress(Exception):
            s.kill()


class RedisServer:
    """A throwaway redis-server on 127.0.0.1 and a free port, in its own temp dir, with no
    persistence; stop() and start() again keep the port (a Redis that goes away and comes
    back). Not installed: Skip (CI: an error)."""

    BIN = "/usr/bin/redis-server"

    def __init__(self):
        if not os.access(self.BIN, os.X_OK):
            why = "redis-server is not installed (apt-get install redis-server)"
            if in_ci():
                raise RuntimeError(why + " (CI=true: a missing peer fails the test)")
            raise Skip(why)
        self.dir = make_tmp("hearth-it-redis-")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.proc = None
        _REDIS_SERVERS.append(self)

    def start(self, timeout=10.0):
        log = open(os.path.join(self.dir, "redis.log"), "ab")
        self.proc = subprocess.Popen(
            [self.BIN, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no", "--dir", self.dir, "--protected-mode", "no"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as c:
                    c.sendall(b"PING\r\n")
                    if c.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None

    @property
    def addr(self):
        return f"127.0.0.1:{self.port}"

    def command(self, *args, timeout=5.0):
        """One command over RESP on a fresh connection: its reply as str, int, list or None
        (nil); an error reply raises RuntimeError."""
        out = b"*%d\r\n" % len(args) + b"".join(
            b"$%d\r\n%s\r\n" % (len(a), a) for a in (str(x).encode() for x in args))
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as c:
            c.sendall(out)
            f = c.makefile("rb")

            def reply():
                line = f.readline().rstrip(b"\r\n")
                kind, rest = line[:1], line[1:]
                if kind == b"+":
                    return rest.decode()
                if kind == b"-":
                    raise RuntimeError(rest.decode())
                if kind == b":":
                    return int(rest)
                if kind == b"$":
                    n = int(rest)
                    return None if n < 0 else f.read(n + 2)[:-2].decode()
                if kind == b"*":
                    n = int(rest)
                    return None if n < 0 else [reply() for _ in range(n)]
                raise RuntimeError(f"unexpected RESP line {line!r}")

            return reply()


_REDIS_SERVERS = []


def _stop_redis():
    for r in _REDIS_SERVERS:
        r.stop()


atexit.register(_stop_redis)
