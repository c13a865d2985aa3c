#!/usr/bin/python3
"""
The bus between nodes on Redis (issue 13, src/bus/bus_redis.c): two hearthd nodes and one real
redis-server on loopback. alice is joined on node B; an operator revokes her on node A; the
revocation crosses Redis and B disconnects her (`disconnect` reason `revoked`, close 4005), timed
from A's admin request to B's close frame (target: within 500 ms, issue 13's kick bound), and B
refuses her a new ticket; a third node joins and a ban on A closes erin's session on C (4008),
timed the same way. Then
Redis goes away: calls on B go on (a session stays and is served), a revocation on A still
closes A's own sessions at once; Redis comes back: the nodes reconnect and the next revocation
on A reaches B again. A node's config refuses a cluster.redis that is not host:port.
"""

import asyncio
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
from harness import Sig, short  # noqa: E402

ROOM = "lobby"
BOUND_MS = 500.0


async def joined(srv, user, device="d"):
    r = srv.dev_ticket(ROOM, user, device)
    if r.status != 201:
        raise RuntimeError(f"ticket for {user}: {r}")
    s = await Sig.connect(r.json["signal_url"])
    ack = await s.join(r.json["ticket"], ROOM)
    if ack.get("type") != "ack":
        raise RuntimeError(f"join for {user}: {short(ack)}")
    return s


async def revoke_across(C, a, victim, user, what):
    """Revoke `user` on node a; victim (on another node) must close with 4005, in time."""
    loop = asyncio.get_running_loop()
    t0 = time.monotonic()
    http = loop.run_in_executor(None, lambda: a.admin("POST", "/revocations", {"user": user}))
    code = await victim.wait_close(5)
    r = await http
    C.eq(f"{what}: node A answers 201", r.status, 201)
    m = next((m for m in victim.seen if m.get("type") == "disconnect"), None)
    C.eq(f"{what}: the session on B is told revoked", ((m or {}).get("data") or {}).get("reason"),
         "revoked")
    C.eq(f"{what}: and closed with 4005", code, 4005)
    if victim.closed_at is not None:
        ms = (victim.closed_at - t0) * 1000
        C.info(f"{what}: A's admin request -> B's close frame", f"{ms:.1f} ms")
        C(f"{what}: within {BOUND_MS:.0f} ms", ms < BOUND_MS, f"{ms:.1f} ms")


def metric(srv):
    """The node's unlabelled samples by name."""
    return {name: v for (name, labels), v in srv.metric_samples().items() if not labels}


async def body(args, C):
    redis = H.RedisServer().start()
    sets = [f"cluster.redis={redis.addr}"]
    a = H.Server(args.build_dir, name="node-a", sets=sets + ["cluster.node=node-a"]).start()
    b = H.Server(args.build_dir, name="node-b", sets=sets + ["cluster.node=node-b"]).start()
    C("both nodes say they are on the Redis bus",
      "bus.redis" in a.log_text() and "node-b" in b.log_text(), a.log_tail(5))
    await asyncio.sleep(0.5)  # both subscribed

    C.section("a revocation on node A closes the session on node B")
    alice = await joined(b, "alice")
    bob = await joined(b, "bob")
    await revoke_across(C, a, alice, "alice", "Redis up")
    alive = await bob.still_open(0.3)
    ack = await bob.request("room.info", {}) if alive else {}
    C("bob (not revoked) on B stays and is served", alive and ack.get("type") == "ack", short(ack))
    r = b.dev_ticket(ROOM, "alice", "d2")
    C.eq("B refuses alice a new ticket too (401 user_revoked)", (r.status, r.error_code),
         (401, "user_revoked"))

    C.section("a ban on node A closes the banned user's session on node C")
    c = H.Server(args.build_dir, name="node-c", sets=sets + ["cluster.node=node-c"]).start()
    await asyncio.sleep(0.5)
    erin = await joined(c, "erin")
    loop = asyncio.get_running_loop()
    t0 = time.monotonic()
    http = loop.run_in_executor(None, lambda: a.admin(
        "POST", "/moderation", {"action": "ban", "room": ROOM, "user": "erin"}))
    code = await erin.wait_close(5)
    r = await http
    C.eq("node A answers 201", r.status, 201)
    m = next((m for m in erin.seen if m.get("type") == "moderation"), None)
    C.eq("erin on C is told of the ban", ((m or {}).get("data") or {}).get("action"), "ban")
    C.eq("and closed with 4008 (moderated)", code, 4008)
    if erin.closed_at is not None:
        ms = (erin.closed_at - t0) * 1000
        C.info("A's ban -> C's close frame", f"{ms:.1f} ms")
        C(f"within {BOUND_MS:.0f} ms", ms < BOUND_MS, f"{ms:.1f} ms")

    C.section("the node registry")
    await asyncio.sleep(1.5)  # a beacon round
    r = a.admin("GET", "/nodes")
    nodes = {n.get("node"): n for n in (r.json or {}).get("nodes", [])}
    C.eq("A's GET /v1/admin/nodes: 200, cluster", (r.status, (r.json or {}).get("cluster")),
         (200, True))
    C.eq("it lists node-a, node-b and node-c", sorted(nodes), ["node-a", "node-b", "node-c"])
    C.eq("with B's URL and its live sessions (bob)",
         ((nodes.get("node-b") or {}).get("url"), (nodes.get("node-b") or {}).get("sessions")),
         (b.base_url, 1))
    rc, out, _ = H.Ctl(args.build_dir, a).run("nodes")
    C("hearthctl nodes lists the three", rc == 0 and all(n in out for n in nodes), out[-300:])
    c.stop(C)
    t0 = time.monotonic()
    gone = False
    while time.monotonic() - t0 < 6 and not gone:
        await asyncio.sleep(0.25)
        gone = "node-c" not in {n.get("node") for n in a.admin("GET", "/nodes").json["nodes"]}
    C("a node that stopped leaves the registry within 6 s", gone,
      f"{time.monotonic() - t0:.1f} s")
    C.info("node-c gone from A's registry after", f"{time.monotonic() - t0:.1f} s")

    C.section("metrics")
    ma, mb = metric(a), metric(b)
    C.eq("A: hearth_bus_redis_up 1", ma.get("hearth_bus_redis_up"), 1.0)
    C("A: hearth_bus_published_total counts its revocation and ban",
      (ma.get("hearth_bus_published_total") or 0) >= 2, str(ma.get("hearth_bus_published_total")))
    C("B: hearth_bus_received_total counts them",
      (mb.get("hearth_bus_received_total") or 0) >= 2, str(mb.get("hearth_bus_received_total")))

    C.section("Redis goes away: calls go on")
    redis.stop()
    await asyncio.sleep(0.5)
    C.eq("B: hearth_bus_redis_up 0 once Redis is gone", metric(b).get("hearth_bus_redis_up"),
         0.0)
    ack = await bob.request("room.info", {})
    C("bob's session on B is still served", ack.get("type") == "ack", short(ack))
    carol_a = await joined(a, "carol", "c1")
    carol_b = await joined(b, "carol", "c2")
    r = a.admin("POST", "/revocations", {"user": "carol"})
    C.eq("a revocation on A without Redis: 201, A's own session closed",
         (r.status, (r.json or {}).get("disconnected")), (201, 1))
    C.eq("A's session closed with 4005", await carol_a.wait_close(3), 4005)

    C.section("Redis comes back: the nodes reconnect and the bus carries again")
    redis.start()
    # What A published while Redis was away went out once it was back: carol on B too.
    code = await carol_b.wait_close(8)
    C.eq("the revocation queued on A while Redis was away reaches B once it is back", code, 4005)
    dave = await joined(b, "dave")
    await asyncio.sleep(0.2)
    await revoke_across(C, a, dave, "dave", "after Redis came back")
    for s in (bob,):
        await s.request("leave", {})
        await s.wait_close(3)
    a.stop(C)
    b.stop(C)
    redis.stop()

    C.section("configuration")
    bad = H.Server(args.build_dir, name="bad", sets=["cluster.redis=nohost"])
    rc, out = bad.run_once(args=["--check-config"])
    C("cluster.redis without a port is refused", rc != 0 and "cluster.redis must be host:port" in out,
      f"rc={rc} {out[-200:]}")


if __name__ == "__main__":
    H.run_main("the bus between nodes on Redis", body)
