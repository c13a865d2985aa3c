#!/usr/bin/python3
"""
aiortc_client.py: a hearth client in Python (Debian's python3-aiortc 1.4.0 and
python3-websockets), the second, independent WebRTC stack the browser tests drive against a
real hearthd. Run it with /usr/bin/python3: the python3 on PATH may lack Debian's modules.

It does what clients/js/hearth.js does, in the order docs/protocol.md asks:
  1. POST /v1/join-tickets with X-User-Id (dev profile) for a ticket and the signal URL;
  2. open the WebSocket, wait for `hello`, send `join`;
  3. the publisher RTCPeerConnection: a synthetic VP8 video track (moving frames), an Opus
     audio track (a tone) and the data channel "hearth" (ordered), then `sdp.offer` and the
     answer from the `ack`. aiortc is non-trickle: its offer already carries every candidate,
     so after the answer we only send the end of candidates (`ice.candidate` "");
  4. the subscriber RTCPeerConnection: every server `sdp.offer` (pc "subscriber") is set as the
     remote description and answered with `sdp.answer` and the same revision, one at a time;
  5. every remote video track is read (recv() returns decoded frames) and counted per remote
     participant, found through the offer's `a=msid:<stream> <track>` (stream = participant
     id); audio frames are counted too; data channel messages `<sender>\\n<payload>` are kept.

Output: one JSON line per second on stdout,
  {"t": seconds, "joined": bool, "participant": id, "pub": state, "sub": state,
   "frames": {pid: n}, "audio": {pid: n}, "sizes": {pid: [w, h]}, "data": [{"from", "data"|"hex"}],
   "data_open": bool, "dc": {"state", "id", "dtls_role"}, "errors": [...]}
and a last one with "closed": true. Diagnostics go to stderr.

Input: one JSON command per stdin line: {"send": "text"} or {"send_hex": "000aff"} sends a data
channel message. It exits cleanly (leave, close both PCs, close the socket, exit 0) on SIGTERM,
SIGINT or stdin EOF.

Workarounds for aiortc 1.4.0 (shared/PEERS.md):
  - aioice never gathers 127.0.0.1: get_host_addresses is patched to return the --host address;
  - aiortc reuses extmap id 2 inside one BUNDLE (audio-level on audio, abs-send-time on video).
    That is left alone by default (the server must cope); --fix-extmap renumbers audio-level to
    3, to tell a server bug from the rest.
"""

import argparse
import asyncio
import fractions
import json
import logging
import math
import signal
import sys
import time
import urllib.request

import aioice.ice
import numpy
import websockets
from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSctpTransport,
    RTCSessionDescription,
)
from aiortc.codecs import HEADER_EXTENSIONS
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack, VideoStreamTrack
from aiortc.sdp import candidate_from_sdp
from av import AudioFrame, VideoFrame

log = logging.getLogger("aiortc_client")

PROTOCOL_VERSION = 2
DATA_LABEL = "hearth"
REQUEST_TIMEOUT_S = 10.0


# ---- synthetic media ------------------------------------------------------------------------


class MovingVideoTrack(VideoStreamTrack):
    """Moving frames: a diagonal luma gradient that scrolls and a white square that travels."""

    def __init__(self, width=320, height=240):
        super().__init__()
        self.width, self.height = width, height
        y, x = numpy.mgrid[0:height, 0:width]
        self._base = ((x + y) % 256).astype(numpy.uint8)
        self._chroma = numpy.full((height // 2, width), 128, dtype=numpy.uint8)
        self._n = 0

    async def recv(self):
        pts, time_base = await self.next_timestamp()
        self._n += 1
        luma = (self._base + (self._n * 3) % 256).astype(numpy.uint8)
        side = self.height // 4
        left = (self._n * 4) % (self.width - side)
        top = (self._n * 2) % (self.height - side)
        luma[top : top + side, left : left + side] = 235
        frame = VideoFrame.from_ndarray(numpy.vstack([luma, self._chroma]), format="yuv420p")
        frame.pts = pts
        frame.time_base = time_base
        return frame


class ToneAudioTrack(MediaStreamTrack):
    """A 440 Hz tone, 48 kHz mono s16, 20 ms frames (Opus then has something to say)."""

    kind = "audio"
    RATE = 48000
    SAMPLES = 960

    def __init__(self):
        super().__init__()
        t = numpy.arange(self.RATE) / self.RATE  # one second: a whole number of periods
        self._wave = (numpy.sin(2 * math.pi * 440 * t) * 8000).astype(numpy.int16)
        self._start = None
        self._ts = 0

    async def recv(self):
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.time()
        else:
            self._ts += self.SAMPLES
            await asyncio.sleep(self._start + self._ts / self.RATE - time.time())
        at = self._ts % self.RATE
        chunk = numpy.roll(self._wave, -at)[: self.SAMPLES]
        frame = AudioFrame.from_ndarray(chunk.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = self.RATE
        frame.pts = self._ts
        frame.time_base = fractions.Fraction(1, self.RATE)
        return frame


# ---- SDP helpers ----------------------------------------------------------------------------


def msid_streams(sdp):
    """mid -> the stream id of the m-section's a=msid (the publishing participant's id)."""
    out, mid, stream = {}, None, None
    for line in sdp.splitlines() + ["m=end"]:
        if line.startswith("m="):
            if mid is not None and stream is not None:
                out[mid] = stream
            mid = stream = None
        elif line.startswith("a=mid:"):
            mid = line[6:].strip()
        elif line.startswith("a=msid:"):
            stream = line[7:].split()[0]
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


def first_mid(sdp):
    for line in sdp.splitlines():
        if line.startswith("a=mid:"):
            return line[6:].strip()
    return "0"


# ---- the client -----------------------------------------------------------------------------


class HearthAiortcClient:
    def __init__(self, args):
        self.args = args
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

    def log_sdp(self, what, sdp):
        if self.args.log_sdp:
            log.info("%s:\n%s", what, sdp.strip())

    def error(self, text):
        log.warning("%s", text)
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
        fut = asyncio.get_running_loop().create_future()
        self.pending[rid] = (type_, fut)
        await self.ws.send(json.dumps({"type": type_, "id": rid, "data": data}))
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            self.pending.pop(rid, None)

    async def reader(self):
        async for text in self.ws:
            try:
                msg = json.loads(text)
            except ValueError:
                continue
            if not isinstance(msg, dict):
                continue
            self.on_message(msg)
        if not self.stopping.is_set():
            self.error(f"signaling closed by the server ({self.ws.close_code})")
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
            log.info("media.state %s", data)
        elif type_ == "disconnect":
            log.info("disconnect %s", data)

    async def join(self):
        ticket = await asyncio.to_thread(self.fetch_ticket)
        self.ws = await websockets.connect(ticket["signal_url"], max_size=1 << 20)
        hello = json.loads(await asyncio.wait_for(self.ws.recv(), REQUEST_TIMEOUT_S))
        if hello.get("type") != "hello":
            raise RuntimeError(f"expected hello, got {hello}")
        self.spawn(self.reader(), "signaling")
        # The server's first subscriber offer may come before the join ack is processed.
        self.sub = self.make_pc("subscriber")
        result = await self.request("join", {"ticket": ticket["ticket"], "room": self.args.room})
        self.participant = result["participant"]["id"]
        self.joined = True
        log.info("joined %s as %s", self.args.room, self.participant)
        grants = result.get("grants", [])
        if "publish" in grants or "data" in grants:
            await self.publish("publish" in grants and not self.args.no_publish, "data" in grants)

    # -- the publisher PC --

    def make_pc(self, name):
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))

        @pc.on("connectionstatechange")
        def on_state():
            log.info("%s connection %s", name, pc.connectionState)

        if name == "subscriber":
            pc.on("track", lambda track: self.on_track(pc, track))
            pc.on("datachannel", self.on_datachannel)
        return pc

    async def publish(self, media, data):
        pc = self.pub = self.make_pc("publisher")
        if media:
            video = pc.addTransceiver(MovingVideoTrack(), direction="sendonly")
            caps = RTCRtpSender.getCapabilities("video")
            vp8 = [c for c in caps.codecs if c.mimeType.lower() in ("video/vp8", "video/rtx")]
            video.setCodecPreferences(vp8)
            pc.addTransceiver(ToneAudioTrack(), direction="sendonly")
        if data:
            self.dc = pc.createDataChannel(DATA_LABEL, ordered=True)

            @self.dc.on("open")
            def on_open():
                self.data_open = True

        await pc.setLocalDescription(await pc.createOffer())
        answer = await self.request(
            "sdp.offer", {"pc": "publisher", "sdp": pc.localDescription.sdp}
        )
        if not isinstance(answer.get("sdp"), str):
            raise RuntimeError("the server answered sdp.offer without an sdp")
        self.log_sdp("publisher offer (ours)", pc.localDescription.sdp)
        self.log_sdp("publisher answer (server's)", answer["sdp"])
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer["sdp"], type="answer"))
        await self.end_of_candidates("publisher", pc)

    async def end_of_candidates(self, name, pc):
        mid = first_mid(pc.localDescription.sdp)
        await self.request("ice.candidate", {"pc": name, "candidate": "", "sdp_mid": mid})

    # -- the subscriber PC --

    async def answer_subscriber(self, sdp, revision):
        if not isinstance(sdp, str):
            raise RuntimeError("subscriber sdp.offer without an sdp")
        async with self.sub_chain:
            pc = self.sub
            first = pc.remoteDescription is None
            self.log_sdp(f"subscriber offer {revision} (server's)", sdp)
            self.sub_streams.update(msid_streams(sdp))
            try:
                await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
                await pc.setLocalDescription(await pc.createAnswer())
            except Exception as e:  # tell the server (docs/protocol.md §2.2), then report it
                await self.request(
                    "sdp.answer", {"pc": "subscriber", "revision": revision, "error": repr(e)}
                )
                raise RuntimeError(f"subscriber offer {revision} refused: {e!r}") from e
            await self.request(
                "sdp.answer",
                {"pc": "subscriber", "sdp": pc.localDescription.sdp, "revision": revision},
            )
            log.info("answered subscriber revision %s", revision)
            self.log_sdp(f"subscriber answer {revision} (ours)", pc.localDescription.sdp)
            if first:
                await self.end_of_candidates("subscriber", pc)

    async def remote_candidate(self, data):
        pc = self.pub if data.get("pc") == "publisher" else self.sub
        text = data.get("candidate")
        if pc is None or not isinstance(text, str) or not text:
            return
        for _ in range(100):  # the server may trickle before its description is applied
            if pc.remoteDescription is not None:
                break
            await asyncio.sleep(0.05)
        else:
            raise RuntimeError("a candidate for a PC without a remote description")
        if text.startswith("candidate:"):
            text = text[len("candidate:") :]
        cand = candidate_from_sdp(text)
        if (cand.ip, str(cand.port)) in sdp_candidates(pc.remoteDescription.sdp):
            return
        cand.sdpMid = first_mid(pc.remoteDescription.sdp)
        await pc.addIceCandidate(cand)

    def on_track(self, pc, track):
        mid = None
        for t in pc.getTransceivers():
            if t.receiver.track is track:
                mid = t.mid
        who = self.sub_streams.get(mid, f"mid:{mid}")
        log.info("remote %s track from %s (mid %s)", track.kind, who, mid)
        counts = self.frames if track.kind == "video" else self.audio
        counts.setdefault(who, 0)
        self.spawn(self.consume(track, who, counts), f"{track.kind} from {who}")

    async def consume(self, track, who, counts):
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            counts[who] = counts.get(who, 0) + 1
            if track.kind == "video":
                self.sizes[who] = [frame.width, frame.height]

    def on_datachannel(self, channel):
        if channel.label != DATA_LABEL:
            return

        @channel.on("message")
        def on_message(message):
            if isinstance(message, str):
                sender, sep, payload = message.partition("\n")
                if sep:
                    self.data.append({"from": sender, "data": payload})
            else:
                sender, sep, payload = bytes(message).partition(b"\n")
                if sep:
                    sender = sender.decode("ascii", "replace")
                    self.data.append({"from": sender, "hex": payload.hex()})
            del self.data[:-100]

    # -- commands, status, ending --

    def command(self, line):
        try:
            cmd = json.loads(line)
            if not self.dc or self.dc.readyState != "open":
                raise RuntimeError("the data channel is not open")
            if "send" in cmd:
                self.dc.send(str(cmd["send"]))
            elif "send_hex" in cmd:
                self.dc.send(bytes.fromhex(cmd["send_hex"]))
        except Exception as e:
            self.error(f"command {line.strip()!r}: {e}")

    async def stdin_reader(self):
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while True:
            line = await reader.readline()
            if not line:
                self.stopping.set()
                return
            if line.strip():
                self.command(line.decode("utf-8", "replace"))

    def dc_info(self):
        """Our data channel: state, SCTP stream id and our DTLS role (for RFC 8832 §6)."""
        if not self.dc:
            return None
        role = None
        if self.pub and self.pub.sctp:
            role = self.pub.sctp.transport._role
        return {"state": self.dc.readyState, "id": self.dc.id, "dtls_role": role}

    def status(self, closed=False):
        st = {
            "t": round(time.monotonic() - self.started, 2),
            "joined": self.joined,
            "participant": self.participant,
            "pub": self.pub.connectionState if self.pub else None,
            "sub": self.sub.connectionState if self.sub else None,
            "frames": dict(self.frames),
            "audio": dict(self.audio),
            "sizes": dict(self.sizes),
            "data": list(self.data),
            "data_open": self.data_open,
            "dc": self.dc_info(),
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
            except Exception:
                pass
        for task in list(self.tasks):
            task.cancel()
        for pc in (self.pub, self.sub):
            if pc:
                await pc.close()
        if self.ws:
            await self.ws.close()


async def main(args):
    client = HearthAiortcClient(args)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, client.stopping.set)
    reporter = asyncio.ensure_future(client.reporter())
    stdin = asyncio.ensure_future(client.stdin_reader())
    client.spawn(client.join(), "join")
    await client.stopping.wait()
    reporter.cancel()
    stdin.cancel()
    try:
        await asyncio.wait_for(client.close(), 5)
    except Exception as e:
        client.error(f"close: {e}")
    client.status(closed=True)


def fix_sctp_parity():
    """
    aiortc 1.4.0 picks its data channel stream ids by ICE role (controlled: even), RFC 8832 §6
    by DTLS role (client: even). Against an ICE-lite server that answers a=setup:passive,
    aiortc is ICE controlling and DTLS client, so it opens on odd ids, the server's own.
    This makes it follow the RFC.
    """
    original = RTCSctpTransport.start

    async def start(self, remoteCaps, remotePort):
        await original(self, remoteCaps, remotePort)
        if not self._data_channels:
            self._data_channel_id = 0 if self.transport._role == "client" else 1

    RTCSctpTransport.start = start


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--server", required=True, help="hearthd base URL, http://127.0.0.1:PORT")
    p.add_argument("--room", required=True)
    p.add_argument("--user", default="aiortc")
    p.add_argument("--device", default=None)
    p.add_argument("--host", default="127.0.0.1", help="the only address aioice gathers")
    p.add_argument("--fix-extmap", action="store_true", help="renumber audio-level to id 3")
    p.add_argument(
        "--fix-sctp-parity",
        action="store_true",
        help="open data channels on even stream ids when DTLS client (RFC 8832 6)",
    )
    p.add_argument("--log-sdp", action="store_true", help="every SDP to stderr")
    p.add_argument("--no-publish", action="store_true", help="send no media (data channel only)")
    p.add_argument("--verbose", action="store_true")
    return p.parse_args(argv)


if __name__ == "__main__":
    args = parse_args(sys.argv[1:])
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    for noisy in ("aioice", "aiortc", "websockets"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=False: [args.host]
    if args.fix_extmap:
        for ext in HEADER_EXTENSIONS["audio"]:
            if ext.uri == "urn:ietf:params:rtp-hdrext:ssrc-audio-level":
                ext.id = 3
    if args.fix_sctp_parity:
        fix_sctp_parity()
    asyncio.run(main(args))
