"""
hearth_peer.py: what the Python hearth test clients (aiortc_client.py, gst_client.py) share:
the hearth side of a client, whatever WebRTC stack is under it. Each client subclasses
HearthClient with its stack's PeerConnections and is run as a script with /usr/bin/python3
(so this folder is on sys.path).

Here, in the order docs/protocol.md asks:
  1. POST /v1/join-tickets with X-User-Id (dev profile) for a ticket and the signal URL;
  2. open the WebSocket, wait for `hello`, create the subscriber PC (the server's first offer
     may come before the join ack), send `join`, then publish what the grants allow;
  3. requests with ids, matched with their `ack` or `error`; the receive loop dispatching the
     server's messages (subscriber `sdp.offer`, `ice.candidate`, `media.state`, `disconnect`);
  4. remote candidates: wait for the remote description, skip those already in its SDP;
  5. data channel messages `<sender>\\n<payload>` kept for the status;
  6. one JSON status line per second on stdout (and a last one with "closed": true), JSON
     commands on stdin ({"send": "text"} or {"send_hex": "000aff"}), a clean exit (leave,
     close both PCs, close the socket) on SIGTERM, SIGINT or stdin EOF;
  7. logging to stderr, the command line arguments every client takes, SDP text helpers;
  8. with --resume (docs/protocol.md §2.4): a connection that ends without a final `disconnect`
     (or with `resume: true`) is resumed with the latest resume token, backing off while the
     server is down; on the ack both PCs are made anew (media "renew") and published again. The
     status counts `resumes` and the last `resume_ms` (drop noticed to resume acked).
"""

import argparse
import asyncio
import json
import logging
import signal
import sys
import threading
import time
import urllib.request

import websockets

PROTOCOL_VERSION = 2
DATA_LABEL = "hearth"
REQUEST_TIMEOUT_S = 10.0


# ---- SDP helpers ----------------------------------------------------------------------------


def sections(sdp):
    """The SDP split into [session lines, m-section lines, ...]."""
    out, cur = [], []
    for line in sdp.splitlines():
        if line.startswith("m=") and (cur or not out):
            out.append(cur)
            cur = []
        cur.append(line)
    out.append(cur)
    return out


def msid_streams(sdp):
    """mid -> the stream id of the m-section's a=msid (the publishing participant's id)."""
    out = {}
    for m in sections(sdp)[1:]:
        mid = stream = None
        for line in m:
            if line.startswith("a=mid:"):
                mid = line[6:].strip()
            elif line.startswith("a=msid:"):
                stream = line[7:].split()[0]
        if mid is not None and stream is not None:
            out[mid] = stream
    return out


def sdp_candidates(sdp):
    """The (ip, port) of every a=candidate line, to skip trickled duplicates."""
    out = set()
    for line in sdp.splitlines():
        if line.startswith("a=candidate:"):
            bits = line[len("a=candidate:") :].split()
            if len(bits) >= 6:
                out.add((bits[4], bits[5]))
    return out


def mids(sdp):
    return [l[6:].strip() for l in sdp.splitlines() if l.startswith("a=mid:")]


def first_mid(sdp):
    return (mids(sdp) or ["0"])[0]


# ---- command line and logging ---------------------------------------------------------------


def arg_parser(doc, user, host_help, no_publish_help):
    """The arguments every client takes; a client adds its own."""
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    p.add_argument("--server", required=True, help="hearthd base URL, http://127.0.0.1:PORT")
    p.add_argument("--room", required=True)
    p.add_argument("--user", default=user)
    p.add_argument("--device", default=None)
    p.add_argument("--host", default="127.0.0.1", help=host_help)
    p.add_argument("--no-publish", action="store_true", help=no_publish_help)
    p.add_argument("--log-sdp", action="store_true", help="every SDP to stderr")
    p.add_argument("--verbose", action="store_true")
    p.add_argument("--resume", action="store_true",
                   help="resume after a dropped connection or a server restart (protocol §2.4)")
    return p


def setup_logging(args, noisy=()):
    """Diagnostics to stderr; the `noisy` libraries' loggers only at WARNING unless --verbose."""
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    for name in ("websockets", *noisy):
        logging.getLogger(name).setLevel(logging.DEBUG if args.verbose else logging.WARNING)


# ---- the client -----------------------------------------------------------------------------


class HearthClient:
    """
    A hearth client without its WebRTC stack. A subclass sets `log` and provides:
      make_subscriber() -> the subscriber PC (self.sub);
      async publish_granted(grants): the publisher PC (self.pub), as the join grants allow;
      async answer_subscriber(sdp, revision): one server offer to the subscriber PC;
      remote_sdp(pc) -> the PC's remote description as text, or None;
      async add_candidate(pc, text): a remote candidate (without "candidate:") to the PC;
      pc_state(pc), dc_info(): for the status; status_extra() -> more status fields (under
      self.lock);
      data_channel_ready(), send_data(str | bytes): our data channel;
      async close_pc(pc).
    Counters (frames, audio, sizes, data, errors) may be written from other threads under
    self.lock.
    """

    log = logging.getLogger("hearth_peer")

    def __init__(self, args):
        self.args = args
        self.loop = asyncio.get_running_loop()
        self.lock = threading.Lock()
        self.ws = None
        self.seq = 0
        self.pending = {}
        self.joined = False
        self.participant = None
        self.pub = None
        self.sub = None
        self.dc = None
        self.data_open = False
        self.sub_chain = asyncio.Lock()
        self.sub_streams = {}
        self.frames = {}
        self.audio = {}
        self.sizes = {}
        self.data = []
        self.errors = []
        self.tasks = set()
        self.started = time.monotonic()
        self.stopping = asyncio.Event()
        self.resume_token = None
        self.resume_window_s = 0
        self.final_disconnect = False  # a `disconnect` that says not to come back
        self.retry_after_s = 0.0
        self.resumes = 0
        self.resume_ms = None
        self.participant_events = []  # participant.* events seen, for the test to read

    def log_sdp(self, what, sdp):
        if self.args.log_sdp:
            self.log.info("%s:\n%s", what, sdp.strip())

    def error(self, text):
        self.log.warning("%s", text)
        with self.lock:
            if len(self.errors) < 50:
                self.errors.append(text)

    def spawn(self, coro, what):
        async def run():
            try:
                await coro
            except asyncio.CancelledError:
                raise
            except Exception as e:  # reported, not fatal: the status shows it
                self.error(f"{what}: {type(e).__name__}: {e}")

        task = asyncio.ensure_future(run())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    # -- signaling --

    def fetch_ticket(self):
        body = {"room": self.args.room, "protocol_version": PROTOCOL_VERSION}
        if self.args.device:
            body["device_id"] = self.args.device
        headers = {"Content-Type": "application/json", "X-User-Id": self.args.user}
        if self.args.device:
            headers["X-Device-Id"] = self.args.device
        req = urllib.request.Request(
            self.args.server.rstrip("/") + "/v1/join-tickets",
            data=json.dumps(body).encode(),
            headers=headers,
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=REQUEST_TIMEOUT_S) as res:
            return json.loads(res.read())

    async def request(self, type_, data, timeout=REQUEST_TIMEOUT_S):
        self.seq += 1
        rid = str(self.seq)
        fut = self.loop.create_future()
        self.pending[rid] = (type_, fut)
        await self.ws.send(json.dumps({"type": type_, "id": rid, "data": data}))
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            self.pending.pop(rid, None)

    async def ice_candidate(self, pc, candidate, mid):
        """One of our candidates, or the end of them ("")."""
        await self.request("ice.candidate", {"pc": pc, "candidate": candidate, "sdp_mid": mid})

    async def offer_publisher(self, offer):
        """Sends our publisher offer; returns the server's answer SDP."""
        self.log_sdp("publisher offer (ours)", offer)
        answer = await self.request("sdp.offer", {"pc": "publisher", "sdp": offer})
        if not isinstance(answer.get("sdp"), str):
            raise RuntimeError("the server answered sdp.offer without an sdp")
        self.log_sdp("publisher answer (server's)", answer["sdp"])
        return answer["sdp"]

    async def reader(self):
        ws = self.ws
        try:
            async for text in ws:
                try:
                    msg = json.loads(text)
                except ValueError:
                    continue
                if isinstance(msg, dict):
                    self.on_message(msg)
        except websockets.exceptions.ConnectionClosed:
            pass
        if self.stopping.is_set() or ws is not self.ws:
            return
        if self.args.resume and self.resume_token and not self.final_disconnect:
            self.log.info("signaling closed (%s): resuming", ws.close_code)
            self.spawn(self.resume(), "resume")
            return
        self.error(f"signaling closed by the server ({ws.close_code})")
        self.stopping.set()

    def keep_resume(self, r):
        if isinstance(r, dict) and isinstance(r.get("token"), str):
            self.resume_token = r["token"]
            self.resume_window_s = max(r.get("drop_grace_s", 0), r.get("restart_grace_s", 0))

    async def resume(self):
        """Reconnect with backoff until the window passes; then renew both PCs."""
        t0 = time.monotonic()
        delay = max(self.retry_after_s, 0.1)
        self.retry_after_s = 0.0
        for old in (self.pub, self.sub):
            if old:
                self.spawn(self.close_pc(old), "close old pc")
        self.pub = self.sub = self.dc = None
        self.data_open = False
        while time.monotonic() - t0 < self.resume_window_s and not self.stopping.is_set():
            await asyncio.sleep(delay)
            delay = min(max(delay * 2, 0.25), 0.5)  # a restart takes about a second
            try:
                url = self.signal_url
                ws = await asyncio.wait_for(websockets.connect(url, max_size=1 << 20), 2)
                hello = json.loads(await asyncio.wait_for(ws.recv(), REQUEST_TIMEOUT_S))
                if hello.get("type") != "hello":
                    await ws.close()
                    continue
            except (OSError, asyncio.TimeoutError, websockets.exceptions.WebSocketException):
                continue
            self.ws = ws
            self.final_disconnect = False
            self.spawn(self.reader(), "signaling")
            self.sub = self.make_subscriber()
            try:
                result = await self.request(
                    "resume", {"token": self.resume_token, "room": self.args.room,
                               "media": "renew"})
            except RuntimeError as e:  # refused: a new ticket is needed
                self.error(f"resume refused: {e}")
                self.stopping.set()
                return
            except asyncio.TimeoutError:
                continue
            self.keep_resume(result.get("resume"))
            with self.lock:
                self.resumes += 1
                self.resume_ms = round(1000 * (time.monotonic() - t0))
            self.log.info("resumed as %s after %d ms", result["participant"]["id"], self.resume_ms)
            await self.publish_granted(result.get("grants", []))
            return
        self.error("resume: the grace window passed")
        self.stopping.set()

    def on_message(self, msg):
        type_ = msg.get("type")
        data = msg.get("data") if isinstance(msg.get("data"), dict) else {}
        rid = msg.get("id")
        if type_ in ("ack", "error") and rid in self.pending:
            what, fut = self.pending[rid]
            if not fut.done():
                if type_ == "ack":
                    fut.set_result(data)
                else:
                    fut.set_exception(
                        RuntimeError(f"{what}: {data.get('code')}: {data.get('message')}")
                    )
            return
        if type_ == "error":
            self.error(f"server error: {data.get('code')}: {data.get('message')}")
        elif type_ == "sdp.offer" and data.get("pc") == "subscriber":
            self.spawn(self.answer_subscriber(data.get("sdp"), data.get("revision")), "subscriber")
        elif type_ == "ice.candidate":
            self.spawn(self.remote_candidate(data), "remote candidate")
        elif type_ == "media.state":
            self.log.info("media.state %s", data)
            self.on_media_state(data)
        elif type_ == "disconnect":
            self.log.info("disconnect %s", data)
            self.final_disconnect = data.get("resume") is not True
            self.retry_after_s = (data.get("retry_after_ms") or 0) / 1000
        elif type_ == "session.token":
            self.resume_token = data.get("token", self.resume_token)
        elif type_ in ("participant.joined", "participant.left", "participant.resumed"):
            with self.lock:
                who = (data.get("participant") or {}).get("user")
                self.participant_events.append(f"{type_}:{who}")

    def on_media_state(self, data):
        """hearthd's media.state for one of our PCs (already logged)."""

    async def join(self):
        ticket = await asyncio.to_thread(self.fetch_ticket)
        self.signal_url = ticket["signal_url"]
        self.ws = await websockets.connect(ticket["signal_url"], max_size=1 << 20)
        hello = json.loads(await asyncio.wait_for(self.ws.recv(), REQUEST_TIMEOUT_S))
        if hello.get("type") != "hello":
            raise RuntimeError(f"expected hello, got {hello}")
        self.spawn(self.reader(), "signaling")
        # The server's first subscriber offer may come before the join ack is processed.
        self.sub = self.make_subscriber()
        result = await self.request("join", {"ticket": ticket["ticket"], "room": self.args.room})
        self.participant = result["participant"]["id"]
        self.keep_resume(result.get("resume"))
        self.joined = True
        self.log.info("joined %s as %s", self.args.room, self.participant)
        await self.publish_granted(result.get("grants", []))

    async def remote_candidate(self, data):
        pc = self.pub if data.get("pc") == "publisher" else self.sub
        text = data.get("candidate")
        if pc is None or not isinstance(text, str) or not text:
            return
        for _ in range(100):  # the server may trickle before its description is applied
            if self.remote_sdp(pc) is not None:
                break
            await asyncio.sleep(0.05)
        else:
            raise RuntimeError("a candidate for a PC without a remote description")
        text = text.removeprefix("candidate:")
        bits = text.split()
        if len(bits) >= 6 and (bits[4], bits[5]) in sdp_candidates(self.remote_sdp(pc)):
            return  # already in the server's SDP
        await self.add_candidate(pc, text)

    def keep_data(self, message):
        """A data channel message `<sender>\\n<payload>` (text or bytes), for the status."""
        if isinstance(message, str):
            sender, sep, payload = message.partition("\n")
            entry = {"from": sender, "data": payload}
        else:
            sender, sep, payload = bytes(message).partition(b"\n")
            entry = {"from": sender.decode("ascii", "replace"), "hex": payload.hex()}
        if sep:
            with self.lock:
                self.data.append(entry)
                del self.data[:-100]

    # -- commands, status, ending --

    def command(self, line):
        try:
            cmd = json.loads(line)
            if not self.data_channel_ready():
                raise RuntimeError("the data channel is not open")
            if "send" in cmd:
                self.send_data(str(cmd["send"]))
            elif "send_hex" in cmd:
                self.send_data(bytes.fromhex(cmd["send_hex"]))
        except Exception as e:  # noqa: BLE001
            self.error(f"command {line.strip()!r}: {e}")

    async def stdin_reader(self):
        reader = asyncio.StreamReader()
        await self.loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while True:
            line = await reader.readline()
            if not line:
                self.stopping.set()
                return
            if line.strip():
                self.command(line.decode("utf-8", "replace"))

    def status_extra(self):
        return {}

    def status(self, closed=False):
        with self.lock:
            st = {
                "t": round(time.monotonic() - self.started, 2),
                "joined": self.joined,
                "participant": self.participant,
                "pub": self.pc_state(self.pub) if self.pub else None,
                "sub": self.pc_state(self.sub) if self.sub else None,
                "frames": dict(self.frames),
                "audio": dict(self.audio),
                "sizes": dict(self.sizes),
                "data": list(self.data),
                "data_open": self.data_open,
                "resumes": self.resumes,
                "resume_ms": self.resume_ms,
                "participant_events": list(self.participant_events),
                "dc": self.dc_info(),
                **self.status_extra(),
                "errors": list(self.errors),
            }
        if closed:
            st["closed"] = True
        print(json.dumps(st), flush=True)

    async def reporter(self):
        while True:
            self.status()
            await asyncio.sleep(1)

    async def close(self):
        if self.ws and self.joined:
            try:
                await self.request("leave", {}, timeout=2)
            except Exception:  # noqa: BLE001
                pass
        for task in list(self.tasks):
            task.cancel()
        for pc in (self.pub, self.sub):
            if pc:
                await self.close_pc(pc)
        if self.ws:
            await self.ws.close()

    @classmethod
    async def main(cls, args):
        """Runs a client until SIGTERM, SIGINT or stdin EOF; prints the closing status."""
        client = cls(args)
        for sig in (signal.SIGTERM, signal.SIGINT):
            client.loop.add_signal_handler(sig, client.stopping.set)
        reporter = asyncio.ensure_future(client.reporter())
        stdin = asyncio.ensure_future(client.stdin_reader())
        client.spawn(client.join(), "join")
        await client.stopping.wait()
        reporter.cancel()
        stdin.cancel()
        try:
            await asyncio.wait_for(client.close(), 5)
        except Exception as e:  # noqa: BLE001
            client.error(f"close: {e}")
        client.status(closed=True)
