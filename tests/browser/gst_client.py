#!/usr/bin/python3
"""
gst_client.py: a hearth client on GStreamer 1.22's webrtcbin (libnice ICE, GStreamer's own
DTLS/SRTP and SCTP), the third independent WebRTC stack the browser tests drive against a real
hearthd. Run it with /usr/bin/python3 (Debian's python3-gi, gir1.2-gst-plugins-bad-1.0,
gir1.2-nice-0.1, python3-websockets): the python3 on PATH may lack Debian's modules.

It does what clients/js/hearth.js does, in the order docs/protocol.md asks (the hearth side,
steps 1, 2 and the output/input below, is hearth_peer.py, shared with aiortc_client.py):
  1. POST /v1/join-tickets with X-User-Id (dev profile) for a ticket and the signal URL;
  2. open the WebSocket, wait for `hello`, send `join`;
  3. the publisher webrtcbin: videotestsrc (a moving ball, 320x240) -> vp8enc -> rtpvp8pay,
     audiotestsrc (a 440 Hz tone) -> opusenc -> rtpopuspay, both sendonly, and the data channel
     "hearth" (ordered); then `sdp.offer` and the answer from the `ack`. With the default
     bundle policy, max-bundle, webrtcbin's non-first m-lines are port 0 + a=bundle-only
     (RFC 8843 §6): what this client exists to prove against hearthd. Its candidates are
     trickled (`ice.candidate`, then "" once gathering completes);
  4. the subscriber webrtcbin: every server `sdp.offer` (pc "subscriber") is set as the remote
     description and answered with `sdp.answer` and the same revision, one at a time. When
     webrtcbin refuses an offer (set-remote-description, create-answer or set-local-description
     fails), the client says so to the server: `sdp.answer` {"pc": "subscriber", "revision": N,
     "error": "<webrtcbin's text>"} instead of an sdp, and reports the error in its status;
  5. every remote pad goes through decodebin; a pad probe counts decoded video frames and
     audio samples per remote participant, found through the offer's `a=msid:<stream> <track>`
     (stream = participant id) for the pad's transceiver mid; data channel messages
     `<sender>\\n<payload>` on the server's "hearth" channel are kept.

Output: one JSON line per second on stdout,
  {"t": seconds, "joined": bool, "participant": id, "pub": state, "sub": state (webrtcbin's
   connection-state), "media_state": {pc: state} (hearthd's media.state), "frames": {pid: n},
   "audio": {pid: samples}, "audio_buffers": {pid: n}, "sizes": {pid: [w, h]},
   "data": [{"from", "data"|"hex"}], "data_open": bool, "dc": {"state", "id"},
   "offer" / "answer": {"group", "mlines": [{"m", "mid", "dir", "bundle_only"}]} (our publisher
   offer and hearthd's answer), "sub_revisions": [{"revision", "ok", "mlines", "error"?}],
   "errors": [...]}
and a last one with "closed": true. Diagnostics go to stderr (--log-sdp: every SDP).

Input: one JSON command per stdin line: {"send": "text"} or {"send_hex": "000aff"} sends a data
channel message. It exits cleanly (leave, both pipelines to NULL, close the socket, exit 0) on
SIGTERM, SIGINT or stdin EOF.

What webrtcbin 1.22 (libnice 0.1.21, PyGObject 3.42) needs here, found the hard way:
  - libnice never gathers loopback addresses: the --host address is added to each agent by
    hand, and the Python wrapper of the GstWebRTCICE object is kept alive for the whole run
    (collecting it crashes);
  - a promise's reply is read into a variable (and its SDP turned into text) inside the
    promise's callback, before anything else touches it;
  - a data channel's ready-state is 0 until it starts connecting, a value the 1.22 enum no
    longer has: PyGObject's .value_nick on it dereferences NULL (SIGSEGV). Enums are read
    through their integer (enum_nick);
  - libnice keeps a selected pair alive with STUN Binding Indications every 25 s, which carry
    no consent (RFC 7675); hearthd counts authenticated media as consent, so the default is
    kept (--keepalive-conncheck switches to Binding requests);
  - webrtcbin offers before its encoders run: no a=ssrc, and no mid header extension in its
    packets; hearthd then learns the SSRC from the payload type (RFC 8843 §9.2), so the default
    is kept (--wait-ssrc waits for the payloaders' caps instead);
  - webrtcbin cannot reactivate an m-line it answered inactive (a removed track's m-line
    recycled under a new mid): it fails set-local-description and then aborts on the next
    offer. Such an offer is refused up front (sdp.answer with "error"), so hearthd's retry
    (which does not recycle) finds webrtcbin intact; --apply-recycled shows the failure;
  - it refuses an m-section without a=setup, a fingerprint and ICE credentials, even a
    rejected one (port 0): hearthd's removed m-lines keep them;
  - its rtpbin keeps one payload type map per bundle: a subscriber offer that gives one
    payload type to two codecs in different bundled m-lines (RFC 8843 §9.1 forbids it) makes
    it decode one of them as the other. Such offers are applied but reported as errors.
"""

import asyncio
import faulthandler
import logging
import os
import sys
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstSdp", "1.0")
gi.require_version("GstWebRTC", "1.0")
gi.require_version("Nice", "0.1")
from gi.repository import GLib, Gst, GstSdp, GstWebRTC, Nice  # noqa: E402

from hearth_peer import (  # noqa: E402
    DATA_LABEL,
    HearthClient,
    arg_parser,
    mids,
    msid_streams,
    sections,
    setup_logging,
)

log = logging.getLogger("gst_client")

VIDEO_PT = 96
AUDIO_PT = 111

POLICIES = {
    "none": GstWebRTC.WebRTCBundlePolicy.NONE,
    "balanced": GstWebRTC.WebRTCBundlePolicy.BALANCED,
    "max-compat": GstWebRTC.WebRTCBundlePolicy.MAX_COMPAT,
    "max-bundle": GstWebRTC.WebRTCBundlePolicy.MAX_BUNDLE,
}


# ---- SDP helpers ----------------------------------------------------------------------------


def mline_summary(sdp):
    """Per m-section: the m= line, mid, direction, whether bundle-only; plus the BUNDLE group."""
    group = next((l for l in sdp.splitlines() if l.startswith("a=group:BUNDLE")), None)
    mlines = []
    for m in sections(sdp)[1:]:
        entry = {"m": m[0], "mid": None, "dir": None, "bundle_only": False}
        for line in m:
            if line.startswith("a=mid:"):
                entry["mid"] = line[6:].strip()
            elif line in ("a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive"):
                entry["dir"] = line[2:]
            elif line == "a=bundle-only":
                entry["bundle_only"] = True
        mlines.append(entry)
    return {"group": group, "mlines": mlines}


def enum_nick(obj, prop):
    """
    An enum property's nick, read through its integer. A GstWebRTCDataChannel's ready-state is
    0 until the channel starts connecting, which GStreamer 1.22's enum no longer lists (it
    starts at 1, "connecting"); PyGObject 3.42's .value_nick on such a value dereferences
    NULL and the process dies with SIGSEGV.
    """
    value = obj.get_property(prop)
    n = int(value)
    for v in type(value).__enum_values__.values():
        if int(v) == n:
            return v.value_nick
    return "new" if n == 0 else str(n)


def pt_collisions(sdp):
    """
    Payload types that name different codecs in two bundled m-lines: [(pt, (codec, mid),
    (codec, mid))]. RFC 8843 §9.1 forbids it (one RTP session, one payload type map), and
    webrtcbin's rtpbin means it: it keeps one caps per payload type for the whole bundle, so
    the second m-line's packets are depayloaded and decoded as the first one's codec.
    """
    group = next((l for l in sdp.splitlines() if l.startswith("a=group:BUNDLE")), "")
    bundled = set(group.split()[1:])
    seen, out = {}, []
    for m in sections(sdp)[1:]:
        mid = next((l[6:].strip() for l in m if l.startswith("a=mid:")), None)
        if mid not in bundled or m[0].startswith("m=application"):
            continue
        for line in m:
            if not line.startswith("a=rtpmap:"):
                continue
            pt, _, codec = line[len("a=rtpmap:") :].partition(" ")
            codec = codec.strip().lower()
            if pt in seen and seen[pt][0] != codec:
                out.append((pt, seen[pt], (codec, mid)))
            seen.setdefault(pt, (codec, mid))
    return out


def answer_direction(section, offer=False):
    """What a recvonly answerer ends up with for an m-section: inactive, recvonly, or None."""
    if section[0].startswith("m=application"):
        return None
    port = section[0].split()[1] if len(section[0].split()) > 1 else "0"
    if port == "0" or "a=inactive" in section:
        return "inactive"
    if offer:
        return "recvonly" if ("a=sendonly" in section or "a=sendrecv" in section) else "inactive"
    return "recvonly" if "a=recvonly" in section else "inactive"


def recycled_inactive(offer, last_answer):
    """
    webrtcbin 1.22 cannot bring an m-line it last answered inactive back to life: applying such
    an offer fails in set-local-description ("transceiver direction changes are not
    implemented. Media N"), and after that failure the next offer aborts the process
    (gstwebrtcbin.c _create_answer_task: assertion (g_strcmp0 (mid, last_mid) == 0)). Returns
    the refusal text for an offer that does this (a removed m-line recycled for a new track),
    else None, so the offer can be refused before webrtcbin sees it.
    """
    if not last_answer:
        return None
    old, new = sections(last_answer)[1:], sections(offer)[1:]
    for i, (a, o) in enumerate(zip(old, new)):
        if answer_direction(a) == "inactive" and answer_direction(o, offer=True) == "recvonly":
            mid = lambda sec: next((l[6:] for l in sec if l.startswith("a=mid:")), "?")  # noqa
            return (
                f"m-line {i} reused for mid {mid(o)} (was mid {mid(a)}, inactive): webrtcbin "
                "1.22 cannot reactivate an inactive transceiver (set-local-description: "
                f"transceiver direction changes are not implemented. Media {i})"
            )
    return None


def parse_sdp(text):
    res, msg = GstSdp.SDPMessage.new_from_text(text)
    if res != GstSdp.SDPResult.OK:
        raise RuntimeError(f"GstSdp could not parse the SDP ({res.value_nick})")
    return msg


# ---- one PeerConnection: a webrtcbin in its own pipeline ------------------------------------


class Peer:
    def __init__(self, client, name):
        self.client = client
        self.name = name
        self.pipe = Gst.Pipeline.new(name)
        self.wb = Gst.ElementFactory.make("webrtcbin", name)
        if self.wb is None:
            raise RuntimeError("no webrtcbin element (gstreamer1.0-plugins-bad, -nice)")
        self.wb.set_property("bundle-policy", POLICIES[client.args.bundle_policy])
        self.wb.set_property("latency", 100)
        self.pipe.add(self.wb)
        # libnice skips loopback: name the address to gather on. Keep `ice` referenced for the
        # whole run (shared/PEERS.md: collecting the wrapper crashes 1.22 + PyGObject 3.42).
        self.ice = self.wb.get_property("ice-agent")
        self.agent = self.ice.get_property("agent")
        addr = Nice.Address.new()
        if not addr.set_from_string(client.args.host):
            raise RuntimeError(f"bad --host {client.args.host}")
        self.agent.add_local_address(addr)
        if client.args.keepalive_conncheck:
            # libnice's default keepalive is a STUN Binding Indication every 25 s, which
            # carries no consent (RFC 7675 §5); its consent-freshness mode is construct-only and
            # webrtcbin does not turn it on. Binding requests as keepalives refresh consent.
            self.agent.set_property("keepalive-conncheck", True)
            if not self.agent.get_property("keepalive-conncheck"):
                raise RuntimeError("libnice did not take keepalive-conncheck")
        self.local_sdp = None
        self.remote_sdp = None
        self.signalled = False  # the server has our description: candidates may go out
        self.queued = []
        self.ended = False  # "" sent
        self.gathered = False
        self.keep = []  # Python references to GStreamer objects we hand out
        self.wb.connect("on-ice-candidate", self.on_ice_candidate)
        self.wb.connect("notify::ice-gathering-state", self.on_gathering)
        self.wb.connect("notify::connection-state", self.on_state)
        self.wb.connect("notify::ice-connection-state", self.on_ice_state)

    def state(self):
        return enum_nick(self.wb, "connection-state")

    def start(self):
        if self.pipe.set_state(Gst.State.PLAYING) == Gst.StateChangeReturn.FAILURE:
            raise RuntimeError(f"{self.name}: the pipeline would not go to PLAYING")

    def stop(self):
        self.pipe.set_state(Gst.State.NULL)

    # -- promises, bridged to asyncio --

    def _promise(self, action, *args, key=None):
        """Emits a promise-taking action; resolves with reply[key] (SDP as text) or raises."""
        loop = self.client.loop
        fut = loop.create_future()

        def done(promise):
            try:
                result = promise.wait()
                reply = promise.get_reply()  # read it into a variable first (PEERS.md)
                value, err = None, None
                if result != Gst.PromiseResult.REPLIED:
                    err = f"{action}: promise {result.value_nick}"
                elif reply is not None and reply.has_field("error"):
                    e = reply.get_value("error")
                    err = f"{action}: {getattr(e, 'message', e)}"
                elif key is not None:
                    desc = reply.get_value(key) if reply is not None else None
                    if desc is None:
                        err = f"{action}: no {key} in the reply"
                    else:
                        value = desc.sdp.as_text()
            except Exception as e:  # noqa: BLE001 - reported to the awaiting coroutine
                err = f"{action}: {type(e).__name__}: {e}"

            def settle():
                if fut.done():
                    return
                if err:
                    fut.set_exception(RuntimeError(err))
                else:
                    fut.set_result(value)

            loop.call_soon_threadsafe(settle)

        promise = Gst.Promise.new_with_change_func(done)
        self.wb.emit(action, *args, promise)
        return fut

    async def create_offer(self):
        return await self._promise("create-offer", None, key="offer")

    async def create_answer(self):
        return await self._promise("create-answer", None, key="answer")

    async def set_local(self, kind, text):
        desc = GstWebRTC.WebRTCSessionDescription.new(kind, parse_sdp(text))
        await self._promise("set-local-description", desc)
        self.local_sdp = text

    async def set_remote(self, kind, text):
        desc = GstWebRTC.WebRTCSessionDescription.new(kind, parse_sdp(text))
        await self._promise("set-remote-description", desc)
        self.remote_sdp = text

    # -- ICE --

    def on_ice_candidate(self, _wb, mline, candidate):
        self.client.loop.call_soon_threadsafe(self._local_candidate, mline, candidate)

    def _local_candidate(self, mline, candidate):
        if not candidate:
            return
        if not candidate.startswith("candidate:"):
            candidate = "candidate:" + candidate.removeprefix("a=")
        self.queued.append((candidate, mline))
        self.flush()

    def on_gathering(self, wb, _pspec):
        st = wb.get_property("ice-gathering-state")
        log.info("%s ice gathering %s", self.name, enum_nick(wb, "ice-gathering-state"))
        if st == GstWebRTC.WebRTCICEGatheringState.COMPLETE:
            self.client.loop.call_soon_threadsafe(self._gathered)

    def _gathered(self):
        self.gathered = True
        self.flush()

    def flush(self):
        """Sends queued candidates (and "" once gathering completed) once the server may take them."""
        if not self.signalled:
            return
        all_mids = mids(self.local_sdp or "") or ["0"]
        while self.queued:
            cand, mline = self.queued.pop(0)
            mid = all_mids[mline] if mline < len(all_mids) else all_mids[0]
            self.client.send_candidate(self.name, cand, mid)
        if self.gathered and not self.ended:
            self.ended = True
            self.client.send_candidate(self.name, "", all_mids[0])

    def add_remote_candidate(self, text):
        self.wb.emit("add-ice-candidate", 0, "candidate:" + text)

    def on_state(self, wb, _pspec):
        log.info("%s connection %s", self.name, enum_nick(wb, "connection-state"))

    def on_ice_state(self, wb, _pspec):
        log.info("%s ice %s", self.name, enum_nick(wb, "ice-connection-state"))


# ---- the client -----------------------------------------------------------------------------


class HearthGstClient(HearthClient):
    log = log

    def __init__(self, args):
        super().__init__(args)  # self.lock: counters are written from streaming threads
        self.sub_dcs = []
        self.audio_buffers = {}
        self.offer_summary = None
        self.answer_summary = None
        self.revisions = []
        self.collisions = set()
        self.media_state = {}  # pc -> the state hearthd last reported (media.state)

    def send_candidate(self, pc, candidate, mid):
        self.spawn(self.ice_candidate(pc, candidate, mid), f"{pc} ice.candidate")

    def on_media_state(self, data):
        pc, state = data.get("pc"), data.get("state")
        with self.lock:
            self.media_state[str(pc)] = state
        if state in ("disconnected", "failed") and not self.stopping.is_set():
            self.error(f"hearthd: {pc} transport {state} ({data.get('reason')})")

    # -- the publisher webrtcbin --

    def add_source(self, peer, chain, caps):
        """Links `chain` (gst-launch syntax) into a new sink pad of the webrtcbin, sendonly."""
        bin_ = Gst.parse_bin_from_description(f'{chain} ! capsfilter caps="{caps}"', True)
        peer.pipe.add(bin_)
        sink = peer.wb.request_pad_simple("sink_%u")
        if bin_.get_static_pad("src").link(sink) != Gst.PadLinkReturn.OK:
            raise RuntimeError(f"cannot link {chain} to webrtcbin")
        trans = sink.get_property("transceiver")
        trans.set_property("direction", GstWebRTC.WebRTCRTPTransceiverDirection.SENDONLY)
        peer.keep += [bin_, sink, trans]

    async def publish_granted(self, grants):
        if not self.args.no_publish and ("publish" in grants or "data" in grants):
            await self.publish("publish" in grants, "data" in grants)

    async def publish(self, media, data):
        peer = self.pub = Peer(self, "publisher")
        if media:
            self.add_source(
                peer,
                "videotestsrc is-live=true pattern=ball ! video/x-raw,width=320,height=240,"
                "framerate=20/1 ! videoconvert ! vp8enc deadline=1 cpu-used=8 "
                "target-bitrate=300000 keyframe-max-dist=40 error-resilient=partitions ! "
                f"rtpvp8pay pt={VIDEO_PT} picture-id-mode=15-bit",
                f"application/x-rtp,media=video,encoding-name=VP8,clock-rate=90000,"
                f"payload={VIDEO_PT}",
            )
            self.add_source(
                peer,
                "audiotestsrc is-live=true wave=sine freq=440 volume=0.3 ! audioconvert ! "
                f"audioresample ! opusenc ! rtpopuspay pt={AUDIO_PT}",
                f"application/x-rtp,media=audio,encoding-name=OPUS,clock-rate=48000,"
                f"payload={AUDIO_PT}",
            )
        peer.start()
        if data:
            opts = Gst.Structure.new_from_string("application/data-channel,ordered=true")
            self.dc = peer.wb.emit("create-data-channel", DATA_LABEL, opts)
            if self.dc is None:
                raise RuntimeError("webrtcbin refused create-data-channel")
            self.dc.connect("on-open", lambda _ch: self._dc_open())
            self.dc.connect("on-error", lambda _ch, e: self.error(f"data channel error: {e}"))
            self.dc.connect("on-close", lambda _ch: log.info("publisher data channel closed"))
        if media and self.args.wait_ssrc:
            await self.wait_for_ssrcs(peer)
        offer = await peer.create_offer()
        await peer.set_local(GstWebRTC.WebRTCSDPType.OFFER, offer)
        with self.lock:
            self.offer_summary = mline_summary(offer)
        answer = await self.offer_publisher(offer)
        with self.lock:
            self.answer_summary = mline_summary(answer)
        await peer.set_remote(GstWebRTC.WebRTCSDPType.ANSWER, answer)
        peer.signalled = True
        peer.flush()

    async def wait_for_ssrcs(self, peer, timeout=5.0):
        """
        webrtcbin writes an m-line's a=ssrc only once its sink pad has caps with an ssrc (the
        payloader's first buffer); an offer made earlier has none on that m-line, and webrtcbin
        sends no mid header extension either, so hearthd learns the SSRC from the payload type
        (RFC 8843 §9.2). With --wait-ssrc the offer waits for the caps instead.
        """
        pads = [o for o in peer.keep if isinstance(o, Gst.Pad)]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            caps = [p.get_current_caps() for p in pads]
            if all(c and c.get_structure(0).has_field("ssrc") for c in caps):
                return
            await asyncio.sleep(0.02)
        self.error("the payloaders produced no caps with an ssrc within %.0f s" % timeout)

    def _dc_open(self):
        log.info("publisher data channel open (id %s)", self.dc.get_property("id"))
        self.data_open = True

    # -- the subscriber webrtcbin --

    def make_subscriber(self):
        peer = Peer(self, "subscriber")
        peer.wb.connect("pad-added", self.on_pad)
        peer.wb.connect("on-data-channel", self.on_datachannel)
        peer.start()
        return peer

    async def answer_subscriber(self, sdp, revision):
        if not isinstance(sdp, str):
            raise RuntimeError("subscriber sdp.offer without an sdp")
        async with self.sub_chain:
            peer = self.sub
            self.log_sdp(f"subscriber offer {revision} (server's)", sdp)
            entry = {"revision": revision, "ok": False, "mlines": len(sections(sdp)) - 1}
            with self.lock:
                self.revisions.append(entry)
                del self.revisions[:-40]
                self.sub_streams.update(msid_streams(sdp))
            for pt, (c1, m1), (c2, m2) in pt_collisions(sdp):
                if (pt, m1, m2) not in self.collisions:
                    self.collisions.add((pt, m1, m2))
                    self.error(
                        f"hearthd's subscriber offer {revision} uses payload type {pt} for "
                        f"{c1} (mid {m1}) and {c2} (mid {m2}) in one BUNDLE group (RFC 8843 "
                        f"§9.1): webrtcbin decodes mid {m2} as {c1}"
                    )
            try:
                if not self.args.apply_recycled:
                    refusal = recycled_inactive(sdp, peer.local_sdp)
                    if refusal:
                        raise RuntimeError(f"refused before applying: {refusal}")
                await peer.set_remote(GstWebRTC.WebRTCSDPType.OFFER, sdp)
                answer = await peer.create_answer()
                await peer.set_local(GstWebRTC.WebRTCSDPType.ANSWER, answer)
            except Exception as e:  # noqa: BLE001 - told to the server and reported
                text = str(e)
                entry["error"] = text
                self.error(f"subscriber revision {revision} refused: {text}")
                if self.args.log_sdp is False:
                    log.warning("the refused offer:\n%s", sdp.strip())
                try:
                    await self.request(
                        "sdp.answer",
                        {"pc": "subscriber", "revision": revision, "error": text[:500]},
                    )
                except Exception as e2:  # noqa: BLE001
                    entry["server_reply"] = str(e2)
                    log.warning("the server's reply to our refusal: %s", e2)
                return
            self.log_sdp(f"subscriber answer {revision} (ours)", answer)
            await self.request(
                "sdp.answer", {"pc": "subscriber", "sdp": answer, "revision": revision}
            )
            entry["ok"] = True
            log.info("answered subscriber revision %s", revision)
            peer.signalled = True
            peer.flush()

    def remote_sdp(self, peer):
        return peer.remote_sdp

    async def add_candidate(self, peer, text):
        peer.add_remote_candidate(text)

    def on_pad(self, wb, pad):
        """A remote stream (streaming thread): decodebin, then count what comes out."""
        if pad.get_direction() != Gst.PadDirection.SRC:
            return
        mid = None
        try:
            trans = pad.get_property("transceiver")
            mid = trans.get_property("mid") if trans else None
        except TypeError:
            pass
        with self.lock:
            who = self.sub_streams.get(mid, f"mid:{mid}")
        caps = pad.get_current_caps() or pad.query_caps(None)
        log.info("remote pad %s mid %s from %s: %s", pad.get_name(), mid, who, caps.to_string())
        pipe = self.sub.pipe
        queue = Gst.ElementFactory.make("queue")
        dec = Gst.ElementFactory.make("decodebin")
        pipe.add(queue)
        pipe.add(dec)
        queue.link(dec)
        dec.connect("pad-added", self.on_decoded_pad, who)
        queue.sync_state_with_parent()
        dec.sync_state_with_parent()
        if pad.link(queue.get_static_pad("sink")) != Gst.PadLinkReturn.OK:
            self.error(f"cannot link the remote pad of {who} (mid {mid})")

    def on_decoded_pad(self, dec, pad, who):
        caps = pad.get_current_caps() or pad.query_caps(None)
        s = caps.get_structure(0)
        name = s.get_name()
        pipe = self.sub.pipe
        if name.startswith("video/"):
            kind = "video"
        elif name.startswith("audio/"):
            kind = "audio"
        else:
            log.info("decoded pad from %s with %s: ignored", who, name)
            kind = None
        sink = Gst.ElementFactory.make("fakesink")
        sink.set_property("sync", False)
        sink.set_property("async", False)
        pipe.add(sink)
        sink.sync_state_with_parent()
        pad.link(sink.get_static_pad("sink"))
        if kind:
            log.info("decoding %s from %s (%s)", kind, who, caps.to_string())
            with self.lock:
                (self.frames if kind == "video" else self.audio).setdefault(who, 0)
            pad.add_probe(Gst.PadProbeType.BUFFER, self.count, (kind, who))

    def count(self, pad, info, what):
        kind, who = what
        # The buffer only for audio (its size gives the samples): PyGObject once refused it here
        # ("Expected Gst.PadProbeInfo, but got gi.repository.Gst.PadProbeInfo") on every video
        # probe of a run, 2026-12-07 CI; a video frame is counted without it.
        caps = pad.get_current_caps()
        s = caps.get_structure(0) if caps else None
        with self.lock:
            if kind == "video":
                self.frames[who] = self.frames.get(who, 0) + 1
                if s:
                    ok_w, w = s.get_int("width")
                    ok_h, h = s.get_int("height")
                    if ok_w and ok_h:
                        self.sizes[who] = [w, h]
            else:
                samples = 0
                if s:
                    ok_c, ch = s.get_int("channels")
                    fmt = s.get_string("format") or "S16LE"
                    width = 4 if fmt.startswith(("F32", "S32", "U32")) else 2
                    if ok_c and ch > 0:
                        samples = info.get_buffer().get_size() // (ch * width)
                self.audio[who] = self.audio.get(who, 0) + samples
                self.audio_buffers[who] = self.audio_buffers.get(who, 0) + 1
        return Gst.PadProbeReturn.OK

    def on_datachannel(self, _wb, channel):
        label = channel.get_property("label")
        log.info("subscriber data channel %r (id %s)", label, channel.get_property("id"))
        self.sub_dcs.append(channel)
        if label != DATA_LABEL:
            return
        channel.connect("on-message-string", self.on_data_string)
        channel.connect("on-message-data", self.on_data_bytes)

    def on_data_string(self, _ch, text):
        if text is not None:
            self.keep_data(text)

    def on_data_bytes(self, _ch, data):
        if data is not None:
            self.keep_data(bytes(data.get_data() or b""))

    # -- the data channel, status, ending --

    def data_channel_ready(self):
        return self.dc and self.data_open

    def send_data(self, payload):
        if isinstance(payload, str):
            self.dc.emit("send-string", payload)
        else:
            self.dc.emit("send-data", GLib.Bytes.new(payload))

    def pc_state(self, peer):
        return peer.state()

    def dc_info(self):
        if not self.dc:
            return None
        return {"state": enum_nick(self.dc, "ready-state"), "id": self.dc.get_property("id")}

    def poll_bus(self):
        for peer in (self.pub, self.sub):
            if not peer:
                continue
            bus = peer.pipe.get_bus()
            while True:
                msg = bus.pop_filtered(Gst.MessageType.ERROR | Gst.MessageType.WARNING)
                if msg is None:
                    break
                if msg.type == Gst.MessageType.ERROR:
                    err, dbg = msg.parse_error()
                    self.error(f"{peer.name} pipeline error from {msg.src.get_name()}: "
                               f"{err.message} ({dbg})")
                else:
                    err, dbg = msg.parse_warning()
                    log.warning("%s pipeline warning from %s: %s (%s)", peer.name,
                                msg.src.get_name(), err.message, dbg)

    def status(self, closed=False):
        self.poll_bus()
        super().status(closed)

    def status_extra(self):
        return {
            "audio_buffers": dict(self.audio_buffers),
            "offer": self.offer_summary,
            "answer": self.answer_summary,
            "sub_revisions": [dict(r) for r in self.revisions],
            "media_state": dict(self.media_state),
        }

    async def close_pc(self, peer):
        await asyncio.to_thread(peer.stop)


def parse_args(argv):
    p = arg_parser(__doc__, "gst", "the only address libnice gathers", "join receive-only")
    p.add_argument("--bundle-policy", choices=sorted(POLICIES), default="max-bundle")
    p.add_argument(
        "--wait-ssrc",
        action="store_true",
        help="offer only once the payloaders' caps are known, so every m-line has a=ssrc "
        "(by default it offers as webrtcbin apps do: at once, SSRCs unknown)",
    )
    p.add_argument(
        "--keepalive-conncheck",
        action="store_true",
        help="keep pairs alive with Binding requests instead of libnice's default Binding "
        "Indications (which carry no RFC 7675 consent)",
    )
    p.add_argument(
        "--apply-recycled",
        action="store_true",
        help="hand webrtcbin offers that reuse an m-line it answered inactive (it refuses "
        "them, and aborts on the next offer) instead of refusing them up front",
    )
    return p.parse_args(argv)


if __name__ == "__main__":
    args = parse_args(sys.argv[1:])
    setup_logging(args)
    faulthandler.enable()  # a crash in GStreamer prints every Python thread's stack
    Gst.init(None)
    asyncio.run(HearthGstClient.main(args))
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown: finalizing GstWebRTCICE wrappers after the pipelines are gone
    # prints GObject criticals (and can crash) on GStreamer 1.22 + PyGObject 3.42.
    os._exit(0)
