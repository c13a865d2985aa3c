"""
TURN peers for the tests (PEERS.md, coturn 4.6.1): a real coturn started with `use-auth-secret`
on loopback, coturn's `turnutils_peer` (a UDP echo peer) and `turnutils_uclient` (a TURN client
that allocates, installs permissions or channels and relays packets to the peer and back), and
the REST credential recipe computed independently of hearth (HMAC-SHA1 in Python).

Every process is started on 127.0.0.1 ports picked free here and stopped by its PID. A missing
coturn raises harness.Skip, or fails under CI=true.
"""

import base64
import contextlib
import hashlib
import hmac
import os
import re
import signal
import socket
import subprocess
import time

import edge_support as E

UCLIENT = "/usr/bin/turnutils_uclient"
PEER = "/usr/bin/turnutils_peer"
TURNSERVER = "/usr/bin/turnserver"


def require_coturn():
    for p in (UCLIENT, PEER, TURNSERVER):
        E.require(p, "coturn (apt-get install coturn)")


def free_port(kind=socket.SOCK_DGRAM):
    """A port free for both UDP and TCP on 127.0.0.1 (TURN listens on both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        other = socket.SOCK_STREAM if kind == socket.SOCK_DGRAM else socket.SOCK_DGRAM
        try:
            with socket.socket(socket.AF_INET, other) as s:
                s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
    raise RuntimeError("no free port")


def rest_credential(secret, user, expiry):
    """coturn's REST form, computed here (independent of hearth's C code)."""
    username = f"{int(expiry)}:{user}"
    mac = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(mac).decode()


def turn_entry(ice_servers, prefix="turn:"):
    """The first RTCIceServer with a URL starting with prefix: (entry, that url) or (None, None)."""
    for e in ice_servers or []:
        urls = e.get("urls")
        for u in [urls] if isinstance(urls, str) else (urls or []):
            if u.startswith(prefix):
                return e, u
    return None, None


def url_port(url):
    m = re.match(r"turns?:(\[[^\]]+\]|[^:?]+):(\d+)", url)
    return int(m.group(2)) if m else None


class Proc:
    """A child process in its own session, stopped by PID (and its group)."""

    def __init__(self, argv, log_path):
        self.log_path = log_path
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)

    def stop(self):
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(3)
        self.log.close()

    def text(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")


class EchoPeer(Proc):
    """turnutils_peer: echoes UDP datagrams on 127.0.0.1:port."""

    def __init__(self, tmp):
        require_coturn()
        self.port = free_port()
        super().__init__([PEER, "-L", "127.0.0.1", "-p", str(self.port)],
                         os.path.join(tmp, f"peer-{self.port}.log"))
        time.sleep(0.2)


class Coturn(Proc):
    """A coturn on loopback with `use-auth-secret` (PEERS.md's working configuration)."""

    def __init__(self, tmp, secret, realm="hearth"):
        require_coturn()
        self.port = free_port()
        self.dir = os.path.join(tmp, f"coturn-{self.port}")
        os.makedirs(self.dir, exist_ok=True)
        relay = free_port()
        conf = os.path.join(self.dir, "turnserver.conf")
        with open(conf, "w") as f:
            f.write("\n".join([
                "listening-ip=127.0.0.1", "relay-ip=127.0.0.1", f"listening-port={self.port}",
                "use-auth-secret", f"static-auth-secret={secret}", f"realm={realm}",
                "allow-loopback-peers", "no-cli", "no-tls", "no-dtls", "fingerprint",
                f"min-port={relay}", f"max-port={min(relay + 200, 65535)}",
                f"pidfile={self.dir}/turnserver.pid", f"log-file={self.dir}/turn.log",
                "simple-log", ""]))
        super().__init__([TURNSERVER, "-c", conf], os.path.join(self.dir, "stdout.log"))
        deadline = time.time() + 5
        while time.time() < deadline:  # ready once it answers on TCP
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"coturn did not start: {self.text()[-500:]}")


class UclientResult:
    def __init__(self, rc, out):
        self.rc, self.out = rc, out
        m = re.search(r"tot_send_msgs=(\d+), tot_recv_msgs=(\d+)\s*$", out, re.M)
        self.sent, self.received = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
        m = re.search(r"Total lost packets (\d+)", out)
        self.lost = int(m.group(1)) if m else None

    @property
    def relayed(self):
        """It allocated, sent and got every packet back through the relay."""
        return self.rc == 0 and self.sent > 0 and self.received == self.sent and self.lost == 0

    @property
    def refused(self):
        return self.rc != 0 and self.received == 0

    def tail(self, n=6):
        return " | ".join(self.out.strip().splitlines()[-n:])


def uclient(server_port, username, password, peer_port, tcp=False, tls=False, send=False,
            clients=1, n=10, timeout=40):
    """Relay n messages per client to the echo peer through the TURN server on
    127.0.0.1:server_port (-c: no RTCP pair, whose EVEN-PORT reservation hearth does not keep)."""
    require_coturn()
    argv = [UCLIENT, "-c", "-u", username, "-w", password, "-e", "127.0.0.1", "-r",
            str(peer_port), "-n", str(n), "-m", str(clients), "-X", "-p", str(server_port)]
    if tcp or tls:
        argv.append("-t")
    if tls:
        argv.append("-S")
    if send:
        argv.append("-s")  # Send and Data indications instead of channels
    argv.append("127.0.0.1")
    try:
        p = subprocess.run(argv, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
        return UclientResult(p.returncode, (p.stdout + p.stderr).decode(errors="replace"))
    except subprocess.TimeoutExpired as e:
        out = ((e.stdout or b"") + (e.stderr or b"")).decode(errors="replace")
        return UclientResult(-1, out + "\n(timed out)")
