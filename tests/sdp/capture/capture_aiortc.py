"""Captures an aiortc 1.4.0 publisher offer (audio, video, data channel) for
tests/sdp/fixtures. Not run by CI. Run with Debian's interpreter:
    /usr/bin/python3 capture_aiortc.py OUT.sdp            # offer
    /usr/bin/python3 capture_aiortc.py OUT.sdp OFFER.sdp  # aiortc's answer to OFFER
aioice skips 127.0.0.1, so host addresses are patched to loopback only.
"""
import asyncio
import sys

import aioice.ice
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]


async def main(out, offer_path):
    pc = RTCPeerConnection()
    if offer_path:
        with open(offer_path) as f:
            await pc.setRemoteDescription(RTCSessionDescription(f.read(), "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
    else:
        pc.addTrack(AudioStreamTrack())
        pc.addTrack(VideoStreamTrack())
        pc.createDataChannel("data")
        await pc.setLocalDescription(await pc.createOffer())
    with open(out, "w") as f:
        f.write(pc.localDescription.sdp)
    await pc.close()


asyncio.run(main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else None))
