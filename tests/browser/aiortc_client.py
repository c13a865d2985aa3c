#!/usr/bin/python3
"""
aiortc_client.py: a hearth client in Python (Debian's python3-aiortc 1.4.0 and
python3-websockets), the second, independent WebRTC stack the browser tests drive against a
real hearthd. Run it with /usr/bin/python3: the python3 on PATH may lack Debian's modules.

It does what clients/js/hearth.js does, in the order docs/protocol.md asks (the hearth side,
steps 1, 2 and the output/input below, is hearth_peer.py, shared with gst_client.py):
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

import asyncio
import fractions
import logging
import math
import sys
import time

import aioice.ice
import numpy
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

from hearth_peer import (
    DATA_LABEL,
    HearthClient,
    arg_parser,
    first_mid,
    msid_streams,
    setup_logging,
)

log = logging.getLogger("aiortc_client")


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


# ---- the client -----------------------------------------------------------------------------


class HearthAiortcClient(HearthClient):
    log = log

    def make_pc(self, name):
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))

        @pc.on("connectionstatechange")
        def on_state():
            log.info("%s connection %s", name, pc.connectionState)

        if name == "subscriber":
            pc.on("track", lambda track: self.on_track(pc, track))
            pc.on("datachannel", self.on_datachannel)
        return pc

    def make_subscriber(self):
        return self.make_pc("subscriber")

    # -- the publisher PC --

    async def publish_granted(self, grants):
        if "publish" in grants or "data" in grants:
            await self.publish("publish" in grants and not self.args.no_publish, "data" in grants)

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
        answer = await self.offer_publisher(pc.localDescription.sdp)
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        await self.end_of_candidates("publisher", pc)

    async def end_of_candidates(self, name, pc):
        await self.ice_candidate(name, "", first_mid(pc.localDescription.sdp))

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

    def remote_sdp(self, pc):
        return pc.remoteDescription.sdp if pc.remoteDescription is not None else None

    async def add_candidate(self, pc, text):
        cand = candidate_from_sdp(text)
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
        if channel.label == DATA_LABEL:
            channel.on("message", self.keep_data)

    # -- the data channel, status, ending --

    def data_channel_ready(self):
        return self.dc and self.dc.readyState == "open"

    def send_data(self, payload):
        self.dc.send(payload)

    def pc_state(self, pc):
        return pc.connectionState

    def dc_info(self):
        """Our data channel: state, SCTP stream id and our DTLS role (for RFC 8832 §6)."""
        if not self.dc:
            return None
        role = None
        if self.pub and self.pub.sctp:
            role = self.pub.sctp.transport._role
        return {"state": self.dc.readyState, "id": self.dc.id, "dtls_role": role}

    async def close_pc(self, pc):
        await pc.close()


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
    p = arg_parser(
        __doc__, "aiortc", "the only address aioice gathers", "send no media (data channel only)"
    )
    p.add_argument("--fix-extmap", action="store_true", help="renumber audio-level to id 3")
    p.add_argument(
        "--fix-sctp-parity",
        action="store_true",
        help="open data channels on even stream ids when DTLS client (RFC 8832 6)",
    )
    return p.parse_args(argv)


if __name__ == "__main__":
    args = parse_args(sys.argv[1:])
    setup_logging(args, noisy=("aioice", "aiortc"))
    aioice.ice.get_host_addresses = lambda use_ipv4=True, use_ipv6=False: [args.host]
    if args.fix_extmap:
        for ext in HEADER_EXTENSIONS["audio"]:
            if ext.uri == "urn:ietf:params:rtp-hdrext:ssrc-audio-level":
                ext.id = 3
    if args.fix_sctp_parity:
        fix_sctp_parity()
    asyncio.run(HearthAiortcClient.main(args))
