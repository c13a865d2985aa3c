"""
Helpers for the edge tests (test_tls.py, test_edge_limits.py, test_proxy_nginx.py): certificates
made with the openssl CLI, TLS contexts and fingerprints, sockets from a chosen loopback source
address, a raw WebSocket client that can send what a browser never would (unmasked and binary
frames), and a real nginx started in its own prefix directory and stopped by PID.

Standard library only (plus harness).
"""

import base64
import contextlib
import hashlib
import os
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import time

import harness as H


def require(path_or_name, what):
    """The program, or harness.Skip (a failure under CI=true) when it is not installed."""
    p = path_or_name if os.path.isabs(path_or_name) else shutil.which(path_or_name)
    if p and os.access(p, os.X_OK):
        return p
    msg = f"{what} ({path_or_name}) is not installed"
    if H.in_ci():
        raise RuntimeError(msg + " (CI=true: a missing peer fails)")
    raise H.Skip(msg)


# ---- certificates ----------------------------------------------------------------------------


def make_cert(directory, name, cn):
    """A self-signed P-256 certificate for 127.0.0.1/localhost: (cert path, key path)."""
    openssl = require("openssl", "the openssl CLI")
    crt, key = os.path.join(directory, f"{name}.crt"), os.path.join(directory, f"{name}.key")
    subprocess.run([openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", crt, "-days", "2",
                    "-subj", f"/CN={cn}", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return crt, key


def pem_fingerprint(crt):
    """SHA-256 of the certificate's DER, hex."""
    with open(crt) as f:
        return hashlib.sha256(ssl.PEM_cert_to_DER_cert(f.read())).hexdigest()


def trusting(cafile):
    """A client context that trusts cafile (and checks the name: 127.0.0.1 is in the SAN)."""
    return ssl.create_default_context(cafile=cafile)


def served_fingerprint(port, host="127.0.0.1"):
    """SHA-256 of the certificate a new TLS connection is shown, hex (no verification)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection((host, port), timeout=5) as raw:
        with ctx.wrap_socket(raw, server_hostname=host) as s:
            return hashlib.sha256(s.getpeercert(binary_form=True)).hexdigest()


# ---- sockets ---------------------------------------------------------------------------------


def free_port(host="127.0.0.1"):
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def connect_from(src, port, host="127.0.0.1", timeout=5):
    """A TCP connection to host:port from the loopback address src."""
    s = socket.socket()
    s.settimeout(timeout)
    s.bind((src, 0))
    s.connect((host, port))
    return s


def read_response(s, timeout=5):
    """Read one HTTP response (head + Content-Length body) or until EOF; HttpResult or None
    when the server closed or reset without a byte."""
    s.settimeout(timeout)
    buf = b""
    with contextlib.suppress(socket.timeout, ConnectionResetError, BrokenPipeError):
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
            head, sep, rest = buf.partition(b"\r\n\r\n")
            if sep:
                cl = next((int(v.strip()) for k, _, v in
                           (line.partition(b":") for line in head.split(b"\r\n")[1:])
                           if k.strip().lower() == b"content-length"), None)
                if cl is not None and len(rest) >= cl:
                    break
    if not buf:
        return None
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        headers[k.strip().decode().lower()] = v.strip().decode()
    return H.HttpResult(int(lines[0].split()[1]), rest, headers)


def request_from(src, port, request_bytes, timeout=5):
    """Send raw request bytes from src; the response (HttpResult) or None (closed unanswered)."""
    s = connect_from(src, port, timeout=timeout)
    try:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            s.sendall(request_bytes)
        return read_response(s, timeout)
    finally:
        s.close()


def get_request(path, headers=None, method="GET", body=b""):
    """Raw HTTP/1.1 request bytes."""
    h = {"Host": "127.0.0.1", "Connection": "close"}
    h.update(headers or {})
    if body or method == "POST":
        h.setdefault("Content-Length", str(len(body)))
        h.setdefault("Content-Type", "application/json")
    lines = [f"{method} {path} HTTP/1.1"] + [f"{k}: {v}" for k, v in h.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


# ---- a raw WebSocket client ------------------------------------------------------------------


class RawWs:
    """A WebSocket over a plain socket, frames written by hand (RFC 6455 §5.2)."""

    def __init__(self, port, path="/v1/signal?v=2", src="127.0.0.1", headers=None):
        self.s = connect_from(src, port)
        key = base64.b64encode(os.urandom(16)).decode()
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self.s.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                        f"Sec-WebSocket-Version: 13\r\n{extra}\r\n").encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = self.s.recv(4096)
            if not chunk:
                raise ConnectionError(f"closed during the upgrade: {buf[:200]!r}")
            buf += chunk
        head, _, self.buf = buf.partition(b"\r\n\r\n")
        self.status = int(head.split(b"\r\n")[0].split()[1])
        self.head = head

    @staticmethod
    def frame(opcode, payload, masked=True, fin=True):
        b = bytes([(0x80 if fin else 0) | opcode])
        m = 0x80 if masked else 0
        n = len(payload)
        if n < 126:
            b += bytes([m | n])
        elif n < 65536:
            b += bytes([m | 126]) + struct.pack("!H", n)
        else:
            b += bytes([m | 127]) + struct.pack("!Q", n)
        if masked:
            k = os.urandom(4)
            return b + k + bytes(c ^ k[i % 4] for i, c in enumerate(payload))
        return b + payload

    def send(self, opcode, payload, masked=True):
        self.s.sendall(self.frame(opcode, payload, masked))

    def _need(self, n, deadline):
        while len(self.buf) < n:
            self.s.settimeout(max(0.05, deadline - time.monotonic()))
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError("closed")
            self.buf += chunk

    def recv_frame(self, timeout=5):
        """(opcode, payload) of the next frame from the server."""
        deadline = time.monotonic() + timeout
        self._need(2, deadline)
        op, n = self.buf[0] & 0x0F, self.buf[1] & 0x7F
        at = 2
        if n == 126:
            self._need(4, deadline)
            n, at = struct.unpack("!H", self.buf[2:4])[0], 4
        elif n == 127:
            self._need(10, deadline)
            n, at = struct.unpack("!Q", self.buf[2:10])[0], 10
        self._need(at + n, deadline)
        payload, self.buf = self.buf[at:at + n], self.buf[at + n:]
        return op, payload

    def wait_close(self, timeout=5):
        """(code, reason) of the server's close frame; (None, frames seen) at EOF/timeout."""
        deadline = time.monotonic() + timeout
        seen = []
        try:
            while time.monotonic() < deadline:
                op, payload = self.recv_frame(max(0.05, deadline - time.monotonic()))
                if op == 8:
                    code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                    return code, payload[2:].decode("utf-8", "replace")
                seen.append((op, payload[:200]))
        except (EOFError, socket.timeout, ConnectionResetError, OSError):
            pass
        return None, seen

    def close(self):
        with contextlib.suppress(OSError):
            self.s.close()


# ---- nginx -----------------------------------------------------------------------------------


class Nginx:
    """Debian's nginx in its own prefix dir (PEERS.md), on a free loopback port; stop() by PID."""

    def __init__(self, conf_body, tmp=None):
        self.bin = require("/usr/sbin/nginx", "nginx")
        self.dir = tmp or H.make_tmp("hearth-nginx-")
        for d in ("logs", "tmp"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        self.port = free_port()
        self.pid_path = os.path.join(self.dir, "nginx.pid")
        self.conf_path = os.path.join(self.dir, "nginx.conf")
        self.conf = conf_body.replace("@PORT@", str(self.port)).replace("@DIR@", self.dir)
        with open(self.conf_path, "w") as f:
            f.write(self.conf)
        self.proc = None

    def start(self, timeout=5.0):
        self.proc = subprocess.Popen(
            [self.bin, "-p", self.dir, "-c", self.conf_path, "-g",
             f"daemon off; pid {self.pid_path};"],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.dir, "stderr.log"), "ab"),
            stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.proc.returncode}: "
                                   + self.log_tail())
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            time.sleep(0.05)
        raise RuntimeError("nginx did not listen in time: " + self.log_tail())

    def log_tail(self, n=20):
        out = []
        for name in ("stderr.log", "logs/error.log"):
            with contextlib.suppress(OSError), open(os.path.join(self.dir, name), "rb") as f:
                out += f.read().decode("utf-8", "replace").splitlines()[-n:]
        return "\n".join(out)

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGQUIT)  # graceful: workers finish, then the master
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
