#!/usr/bin/python3
"""A real full ICE agent (aioice, controlling) for tests/ice/test_ice_aioice.c.

usage: aioice_peer.py <nomination: regular|aggressive> <remote ufrag> <remote pwd> <candidate line>

Gathers one host candidate on 127.0.0.1, prints "creds <ufrag> <pwd>" so the
C side can set its remote credentials (as trickle would), runs connectivity
checks against the candidate hearth formatted, and once ICE completes (a
pair nominated), prints "connected", sends b"ping" on the selected pair and
waits for b"pong", printing "received pong". Exits non-zero on any failure.
"aggressive" marks the remote as lite, so aioice puts USE-CANDIDATE on its
first check; "regular" nominates with a second check after a success.
"""
import asyncio
import sys

import aioice
import aioice.ice


async def main() -> int:
    mode, ufrag, pwd, line = sys.argv[1:5]
    # aioice skips 127.0.0.1 when gathering; the test runs on loopback only.
    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]
    conn = aioice.Connection(ice_controlling=True, components=1, use_ipv6=False)
    conn.remote_is_lite = mode == "aggressive"
    await conn.gather_candidates()
    print("creds", conn.local_username, conn.local_password, flush=True)
    conn.remote_username = ufrag
    conn.remote_password = pwd
    prefix = "candidate:"
    if not line.startswith(prefix):
        print("bad candidate line", line, flush=True)
        return 2
    await conn.add_remote_candidate(aioice.Candidate.from_sdp(line[len(prefix):]))
    await conn.add_remote_candidate(None)
    try:
        await asyncio.wait_for(conn.connect(), 10)
        print("connected", flush=True)
        await conn.send(b"ping")
        data = await asyncio.wait_for(conn.recv(), 5)
        print("received", data.decode(errors="replace"), flush=True)
    finally:
        await conn.close()
    return 0 if data == b"pong" else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
