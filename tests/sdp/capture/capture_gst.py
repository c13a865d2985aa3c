"""Captures a GStreamer 1.22 webrtcbin publisher offer (bundle-policy
max-bundle: VP8 video, Opus audio, a data channel) for tests/sdp/fixtures
(gst_pub_max_bundle.sdp). Not run by CI. Run with Debian's interpreter
(python3-gi, gir1.2-gst-plugins-bad-1.0, gstreamer1.0-nice/good/bad):
    /usr/bin/python3 capture_gst.py OUT.sdp
max-bundle makes webrtcbin write every m-line after the first with port 0
and a=bundle-only (RFC 8843 §6), the case hearth's answerer must accept.
"""
import sys
import time

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstWebRTC", "1.0")
gi.require_version("GstSdp", "1.0")
from gi.repository import Gst, GstSdp, GstWebRTC  # noqa: E402,F401

PIPELINE = (
    "webrtcbin name=w bundle-policy=max-bundle "
    "videotestsrc is-live=true ! videoconvert ! vp8enc deadline=1 ! rtpvp8pay ! "
    "application/x-rtp,media=video,encoding-name=VP8,payload=96 ! w. "
    "audiotestsrc is-live=true ! audioconvert ! audioresample ! opusenc ! rtpopuspay ! "
    "application/x-rtp,media=audio,encoding-name=OPUS,payload=111 ! w."
)


def main(out):
    Gst.init(None)
    pipe = Gst.parse_launch(PIPELINE)
    w = pipe.get_by_name("w")
    pipe.set_state(Gst.State.READY)
    channel = w.emit("create-data-channel", "data", None)
    assert channel is not None
    pipe.set_state(Gst.State.PLAYING)
    pipe.get_state(Gst.CLOCK_TIME_NONE)
    time.sleep(1)  # let both payloaders fix their caps (and SSRCs)
    promise = Gst.Promise.new()
    w.emit("create-offer", None, promise)
    promise.wait()
    reply = promise.get_reply()  # keep the structure alive while reading it
    offer = reply.get_value("offer")
    with open(out, "w", newline="") as f:
        f.write(offer.sdp.as_text())
    pipe.set_state(Gst.State.NULL)


main(sys.argv[1])
