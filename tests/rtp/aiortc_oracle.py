#!/usr/bin/python3
"""Independent oracle for hearth's RTP/RTCP codecs: aiortc's own Python code.

  aiortc_oracle.py parse FILE   FILE holds lines "rtp HEX" / "rtcp HEX" that
                                hearth built; prints a JSON list with what
                                aiortc.rtp parses out of each.
  aiortc_oracle.py build        prints a JSON list of packets aiortc built,
                                each with its hex and the fields it was
                                built from, for hearth to parse.
  aiortc_oracle.py video        encodes frames with real encoders (libvpx,
                                libx264 through PyAV; frame 3 forced to a
                                keyframe), packetizes them with aiortc's
                                VP8/H.264 packetizers and prints each RTP
                                payload with the encoder's keyframe flag
                                (and aiortc's parse of the VP8 descriptor).

Extension ids are fixed here and in tests/rtp/test_aiortc_oracle.c.
Exit 0 on success; 2 when aiortc cannot be imported, 3 when an encoder is
missing (the C test skips).
"""
import json
import struct
import sys

try:
    from aiortc import rtp
    from aiortc.rtcrtpparameters import (RTCRtpHeaderExtensionParameters,
                                         RTCRtpParameters)
except Exception as e:  # noqa: BLE001 - any import failure means "skip"
    print(f"aiortc unavailable: {e}", file=sys.stderr)
    sys.exit(2)

URIS = {
    1: "urn:ietf:params:rtp-hdrext:sdes:mid",
    2: "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
    3: "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id",
    4: "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
    5: "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
    6: "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
}


def ext_map():
    m = rtp.HeaderExtensionsMap()
    m.configure(RTCRtpParameters(headerExtensions=[
        RTCRtpHeaderExtensionParameters(id=i, uri=u) for i, u in URIS.items()]))
    return m


def rtp_fields(p):
    x = p.extensions
    return {
        "type": "rtp", "marker": p.marker, "pt": p.payload_type,
        "seq": p.sequence_number, "ts": p.timestamp, "ssrc": p.ssrc,
        "csrc": list(p.csrc), "payload": p.payload.hex(),
        "padding_size": p.padding_size, "mid": x.mid, "rid": x.rtp_stream_id,
        "rrid": x.repaired_rtp_stream_id, "abs_send_time": x.abs_send_time,
        "twcc": x.transport_sequence_number,
        "audio_level": list(x.audio_level) if x.audio_level is not None else None,
    }


def report(r):
    return {"ssrc": r.ssrc, "fraction_lost": r.fraction_lost,
            "packets_lost": r.packets_lost, "highest_sequence": r.highest_sequence,
            "jitter": r.jitter, "lsr": r.lsr, "dlsr": r.dlsr}


def rtcp_fields(p):
    if isinstance(p, rtp.RtcpSrPacket):
        s = p.sender_info
        return {"kind": "sr", "ssrc": p.ssrc, "ntp": s.ntp_timestamp,
                "rtp_ts": s.rtp_timestamp, "packet_count": s.packet_count,
                "octet_count": s.octet_count, "reports": [report(r) for r in p.reports]}
    if isinstance(p, rtp.RtcpRrPacket):
        return {"kind": "rr", "ssrc": p.ssrc, "reports": [report(r) for r in p.reports]}
    if isinstance(p, rtp.RtcpSdesPacket):
        return {"kind": "sdes", "chunks": [
            {"ssrc": c.ssrc, "items": [[t, v.hex()] for t, v in c.items]} for c in p.chunks]}
    if isinstance(p, rtp.RtcpByePacket):
        return {"kind": "bye", "sources": p.sources}
    if isinstance(p, rtp.RtcpRtpfbPacket):
        return {"kind": "rtpfb", "fmt": p.fmt, "ssrc": p.ssrc,
                "media_ssrc": p.media_ssrc, "lost": p.lost}
    if isinstance(p, rtp.RtcpPsfbPacket):
        out = {"kind": "psfb", "fmt": p.fmt, "ssrc": p.ssrc,
               "media_ssrc": p.media_ssrc, "fci": p.fci.hex()}
        if p.fmt == rtp.RTCP_PSFB_APP:
            bitrate, ssrcs = rtp.unpack_remb_fci(p.fci)
            out["remb"] = {"bitrate": bitrate, "ssrcs": ssrcs}
        if p.fmt == 4:  # FIR, RFC 5104 4.3.1: SSRC, seq nr, 3 reserved bytes
            out["fir"] = [list(struct.unpack_from("!LB", p.fci, o))
                          for o in range(0, len(p.fci), 8)]
        return out
    return {"kind": "other"}


def parse(path):
    out = []
    m = ext_map()
    with open(path) as f:
        for line in f:
            kind, hexdata = line.split()
            data = bytes.fromhex(hexdata)
            try:
                if kind == "rtp":
                    out.append(rtp_fields(rtp.RtpPacket.parse(data, m)))
                else:
                    out.append({"type": "rtcp", "packets": [
                        rtcp_fields(p) for p in rtp.RtcpPacket.parse(data)]})
            except ValueError as e:
                out.append({"type": kind, "error": str(e)})
    print(json.dumps(out))


def build():
    m = ext_map()
    out = []

    def add_rtp(p):
        data = p.serialize(m)
        d = rtp_fields(p)
        d["hex"] = data.hex()
        out.append(d)

    p = rtp.RtpPacket(payload_type=111, marker=1, sequence_number=65535,
                      timestamp=0xfffffffe, ssrc=0x89abcdef, payload=b"\x01\x02\x03opus")
    p.extensions.mid = "audio0"
    p.extensions.abs_send_time = 0x3fffff
    p.extensions.transport_sequence_number = 4242
    p.extensions.audio_level = (True, 127)
    add_rtp(p)

    p = rtp.RtpPacket(payload_type=96, sequence_number=7, timestamp=90000, ssrc=1,
                      payload=bytes(range(200)))
    p.csrc = [0xdeadbeef, 2]
    p.extensions.mid = "a-mid-longer-than-sixteen"  # forces the two-byte form
    p.extensions.rtp_stream_id = "h"
    p.extensions.repaired_rtp_stream_id = "q"
    add_rtp(p)

    p = rtp.RtpPacket(payload_type=97, sequence_number=0, timestamp=0, ssrc=0xffffffff,
                      payload=b"\x00\x07padded")
    p.padding_size = 9
    add_rtp(p)

    def add_rtcp(pkts, fields):
        out.append({"type": "rtcp", "hex": b"".join(bytes(x) for x in pkts).hex(),
                    "packets": fields})

    rb = rtp.RtcpReceiverInfo(ssrc=0x01020304, fraction_lost=200, packets_lost=-5,
                              highest_sequence=0x00031000, jitter=1234, lsr=0x11223344,
                              dlsr=0x00010000)
    rb2 = rtp.RtcpReceiverInfo(ssrc=5, fraction_lost=0, packets_lost=70000,
                               highest_sequence=9, jitter=0, lsr=0, dlsr=0)
    sr = rtp.RtcpSrPacket(ssrc=0xaabbccdd, sender_info=rtp.RtcpSenderInfo(
        ntp_timestamp=0x67a1b2c3d4e5f607, rtp_timestamp=3000, packet_count=77,
        octet_count=88000), reports=[rb])
    rr = rtp.RtcpRrPacket(ssrc=0x10101010, reports=[rb, rb2])
    sdes = rtp.RtcpSdesPacket(chunks=[rtp.RtcpSourceInfo(
        ssrc=0xaabbccdd, items=[(1, b"{aiortc-cname}")])])
    bye = rtp.RtcpByePacket(sources=[0xaabbccdd, 7])
    pkts = [sr, rr, sdes, bye]
    add_rtcp(pkts, [rtcp_fields(x) for x in pkts])

    nack = rtp.RtcpRtpfbPacket(fmt=rtp.RTCP_RTPFB_NACK, ssrc=1, media_ssrc=2,
                               lost=[100, 101, 105, 116, 117, 118, 200])  # no wrap: aiortc cannot
    pli = rtp.RtcpPsfbPacket(fmt=rtp.RTCP_PSFB_PLI, ssrc=3, media_ssrc=4)
    remb = rtp.RtcpPsfbPacket(fmt=rtp.RTCP_PSFB_APP, ssrc=5, media_ssrc=0,
                              fci=rtp.pack_remb_fci(123456789, [6, 7]))
    fir = rtp.RtcpPsfbPacket(fmt=4, ssrc=8, media_ssrc=0,
                             fci=struct.pack("!LB3xLB3x", 9, 10, 11, 255))
    pkts = [nack, pli, remb, fir]
    add_rtcp(pkts, [rtcp_fields(x) for x in pkts])
    print(json.dumps(out))


def video():
    import fractions

    import av
    import av.logging
    from aiortc.codecs.h264 import H264Encoder
    from aiortc.codecs.vpx import Vp8Encoder, VpxPayloadDescriptor

    av.logging.set_level(av.logging.ERROR)  # keep encoder chatter out of the test log
    out = []
    for codec, name in (("vp8", "libvpx"), ("h264", "libx264")):
        try:
            c = av.CodecContext.create(name, "w")
        except Exception as e:  # noqa: BLE001 - PyAV built without this encoder
            print(f"encoder {name} unavailable: {e}", file=sys.stderr)
            sys.exit(3)
        c.width, c.height, c.pix_fmt = 320, 240, "yuv420p"
        c.time_base = fractions.Fraction(1, 90000)
        c.framerate = fractions.Fraction(30, 1)
        if name == "libx264":
            c.options = {"tune": "zerolatency", "profile": "baseline"}
        for i in range(8):
            frame = av.VideoFrame(width=320, height=240)
            for plane in frame.planes:  # some moving content, so frames differ
                plane.update(bytes((x * (i + 1)) & 0xFF for x in range(plane.buffer_size)))
            frame.pts = i * 3000
            frame.time_base = c.time_base
            if i == 3:
                frame.pict_type = av.video.frame.PictureType.I
            for pkt in c.encode(frame):
                data = bytes(pkt)
                if codec == "vp8":
                    payloads = Vp8Encoder._packetize(data, 0x7FF0 + i)
                else:
                    payloads = H264Encoder._packetize(H264Encoder._split_bitstream(data))
                for j, pl in enumerate(payloads):
                    d = {"codec": codec, "frame": i, "index": j,
                         "keyframe": bool(pkt.is_keyframe), "payload": pl.hex()}
                    if codec == "vp8":
                        desc, rest = VpxPayloadDescriptor.parse(pl)
                        d.update(picture_id=desc.picture_id,
                                 partition_start=desc.partition_start,
                                 partition_id=desc.partition_id,
                                 header_len=len(pl) - len(rest))
                    out.append(d)
    print(json.dumps(out))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "parse":
        parse(sys.argv[2])
    elif len(sys.argv) == 2 and sys.argv[1] == "build":
        build()
    elif len(sys.argv) == 2 and sys.argv[1] == "video":
        video()
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(1)
