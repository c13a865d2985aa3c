#!/usr/bin/python3
"""Independent SCTP/DCEP peer for tests/sctp/test_aiortc.c.

aiortc (Debian python3-aiortc) has its own pure-Python SCTP stack,
RTCSctpTransport. It talks to its DTLS transport through three methods and
two attributes, so a fake DTLS object turns it into an SCTP endpoint over a
byte pipe: packets travel on stdin/stdout, each framed by a 16-bit
big-endian length. aiortc's ICE role "controlled" makes it the DTLS client
(even stream ids) and the passive side of the SCTP open; hearth connects.

Script (the C side plays the other half):
  1. aiortc opens channel "from-aiortc" (protocol "p1"), sends a string, a
     binary message, an empty string and a 60000-byte binary message; the
     C side echoes each back on the same channel; aiortc checks the echoes.
  2. The C side opens "from-hearth" and sends "ping"; aiortc answers
     "pong:ping" on it.
  3. The C side closes "from-hearth" (stream reset); aiortc sees it close,
     then closes "from-aiortc" itself (stream reset the other way).
Exit status 0 when every check passed, 1 otherwise (reason on stderr);
the whole run is bounded by a timeout.
"""
import asyncio
import struct
import sys
import types

from aiortc.rtcdatachannel import RTCDataChannel, RTCDataChannelParameters
from aiortc.rtcsctptransport import RTCSctpCapabilities, RTCSctpTransport

TIMEOUT_S = 20
BIG = bytes((i * 7) & 0xFF for i in range(60000))
SENT = ["hello from aiortc", b"\x00\x01\x02\x03\xff", "", BIG]


class PipeDtls:
    """The part of RTCDtlsTransport that RTCSctpTransport uses."""

    def __init__(self, out):
        self.state = "connected"
        self.transport = types.SimpleNamespace(role="controlled")
        self.receiver = None
        self.out = out

    def _register_data_receiver(self, receiver):
        self.receiver = receiver

    def _unregister_data_receiver(self, receiver):
        if self.receiver is receiver:
            self.receiver = None

    async def _send_data(self, data):
        self.out.write(struct.pack(">H", len(data)) + data)
        self.out.flush()


def fail(msg):
    sys.stderr.write("aiortc_peer: FAIL " + msg + "\n")
    sys.stderr.flush()
    sys.exit(1)


async def read_packets(dtls):
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        try:
            hdr = await reader.readexactly(2)
            pkt = await reader.readexactly(struct.unpack(">H", hdr)[0])
        except asyncio.IncompleteReadError:
            return
        if dtls.receiver:
            await dtls.receiver._handle_data(pkt)


async def main():
    out = sys.stdout.buffer
    dtls = PipeDtls(out)
    sctp = RTCSctpTransport(dtls)
    done = asyncio.get_running_loop().create_future()
    echoes = []
    state = {"hearth_closed": False}

    def on_datachannel(ch):
        if ch.label != "from-hearth" or ch.protocol != "" or ch.id % 2 != 1:
            fail("unexpected channel %r %r id=%r" % (ch.label, ch.protocol, ch.id))

        @ch.on("message")
        def on_message(msg):
            ch.send("pong:" + msg)

        @ch.on("close")
        def on_close():
            state["hearth_closed"] = True
            mine.close()

    sctp.on("datachannel", on_datachannel)
    await sctp.start(RTCSctpCapabilities(maxMessageSize=65536), 5000)
    mine = RTCDataChannel(sctp, RTCDataChannelParameters(label="from-aiortc", protocol="p1"))

    @mine.on("open")
    def on_open():
        for m in SENT:
            mine.send(m)

    @mine.on("message")
    def on_message(msg):
        echoes.append(msg)

    @mine.on("close")
    def on_close():
        if not done.done():
            done.set_result(True)

    reader = asyncio.ensure_future(read_packets(dtls))
    try:
        await asyncio.wait_for(done, TIMEOUT_S)
    except asyncio.TimeoutError:
        fail("timeout: echoes=%d hearth_closed=%s" % (len(echoes), state["hearth_closed"]))
    if echoes != SENT:
        fail("echoes differ: got %r" % [e[:20] for e in echoes])
    if not state["hearth_closed"]:
        fail("hearth's channel did not close first")
    if mine.id != 0:
        fail("aiortc (DTLS client) should have used stream 0, got %r" % mine.id)
    # Let the last SACKs and the reset response go out.
    await asyncio.sleep(0.3)
    reader.cancel()
    sys.stderr.write("aiortc_peer: ok\n")


if __name__ == "__main__":
    asyncio.run(main())
