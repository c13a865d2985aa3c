#!/usr/bin/python3
"""
Rooms placed over a cluster's nodes (issue 13, src/cluster, src/signal/route.c, docs/scaling.md):
three hearthd nodes on loopback sharing one real redis-server and one PostgreSQL database
(store.backend = postgres, initdb in a temp dir). The nodes run the example configuration
docs/examples/three-nodes/node-{a,b,c}.conf as it is, but for what a test must choose itself:
the servers' addresses (store.postgres_url, cluster.redis), free ports, data directories,
and the shorter lease and restart window that keep the test quick.

- Tickets for one room minted on each of the three nodes name the same node (`signal_url`,
  `node`); tickets for many rooms spread over the nodes.
- alice's ticket from node A and bob's from node C both join the hosting node H and meet there
  (a ticket minted on one node is checked and spent on another); the room's lease in Redis
  names H, and the hash <prefix>:rooms too.
- A join sent to another node W is answered `room_elsewhere` with H's signal URL and does not
  spend the ticket: the same ticket then joins H.
- A kick sent to W's admin API is answered 307 toward H (`room_elsewhere`); `hearthctl kick` on
  W follows it and the kicked session on H closes (4008), timed from the command (< 500 ms).
- `hearthctl close` of a room on a node that does not host it follows the 307 the same way:
  the host disconnects the room's session (4008, `room_closed`).
- A lease taken from under H (the key set to another live node in Redis, as after a split):
  H hands the room over: each session gets `disconnect` reason `moved` with `resume: true` and
  the new node's URL; they resume there with their tokens (the records taken over from the
  shared store), as the same participants, and the new node holds the lease.
- Redis restarted (empty) during the call: sessions are served and the host takes a new join
  while it is away; once it is back the host claims its lease again and a ticket from another
  node names it, and that join works.
- kill -9 of the hosting node: its clients resume on another node once its beacon and lease
  have run out (every earlier try is answered `room_elsewhere` or refused): the same
  participants, both in the room again, the lease on the new node; timed from the kill. henry,
  joined on the dead node, never resumes: once the restart window has passed since its last
  heartbeat, a live node drops his record from the store (audited `session.leave` `expired`).
- Drain (SIGTERM) of the new host: its clients are told `shutdown` with `retry_after_ms` 0 and
  the last node's signal URL, and resume there at once; timed from the SIGTERM.
"""

import asyncio
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
from harness import Sig, short  # noqa: E402

ROOM = "hall"
LEASE_MS = 2000
# The nodes of a cluster share their admin key: the example's
ADMIN_KEY = "change-me-the-same-on-every-node"
EXAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "examples",
                       "three-nodes")
GRACE_S = 8  # resume.restart_grace_s: an orphan's record goes this long after its node died
DB = "hearth_cluster"


def token(ack):
    """The resume token of a join or resume result (None when it is not an ack)."""
    return (((ack or {}).get("data") or {}).get("resume") or {}).get("token")


def node_ids(nodes):
    return {n.name: n for n in nodes}


async def join(url, ticket, room=ROOM):
    s = await Sig.connect(url)
    ack = await s.join(ticket, room)
    return s, ack


async def resume_anywhere(C, what, nodes, token, room, deadline_s):
    """Try `resume` on each node in turn (following room_elsewhere) until one acks; returns
    (sig, ack, node name, tries) or (None, last answer, None, tries)."""
    t_end = time.monotonic() + deadline_s
    tries, last = 0, None
    i = 0
    url = None
    while time.monotonic() < t_end:
        target = url or nodes[i % len(nodes)].ws_url(2)
        url = None
        i += 1
        tries += 1
        try:
            s = await Sig.connect(target, timeout=1.0)
        except Exception as e:  # a dead node refuses the connection
            last = repr(e)
            await asyncio.sleep(0.1)
            continue
        ack = await s.request("resume", {"token": token, "room": room})
        last = ack
        if ack.get("type") == "ack":
            name = next((n.name for n in nodes if n.proc and n.ws_url(2) == target), target)
            return s, ack, name, tries
        data = ack.get("data") or {}
        await s.close()
        if data.get("code") == "room_elsewhere":
            url = data.get("signal_url")
            if any(url == n.ws_url(2) for n in nodes if not n.proc):
                url = None  # still names the dead node: its beacon has not run out yet
        await asyncio.sleep(0.2)
    return None, last, None, tries


async def body(args, C):
    redis = H.RedisServer().start()
    pg = H.PgServer().start()
    pg.createdb(DB)
    sets = [f"store.postgres_url={pg.url(DB)}", f"cluster.redis={redis.addr}",
            f"cluster.lease_ms={LEASE_MS}", f"resume.restart_grace_s={GRACE_S}"]
    nodes = []
    for name in ("node-a", "node-b", "node-c"):
        nodes.append(H.Server(args.build_dir, name=name, sets=sets,
                              config_file=os.path.join(EXAMPLE, f"{name}.conf")).start())
    A, B, Cn = nodes
    by_name = node_ids(nodes)
    by_url = {n.ws_url(2): n for n in nodes}
    await asyncio.sleep(2.2)  # two registry rounds: every node sees the three

    C.section("any node's ticket names the room's node")
    tickets = [n.dev_ticket(ROOM, f"u{i}") for i, n in enumerate(nodes)]
    C.eq("three tickets: 201", [t.status for t in tickets], [201] * 3)
    urls = {t.json.get("signal_url") for t in tickets}
    hosts = {t.json.get("node") for t in tickets}
    C.eq("they name one signal URL and one node", (len(urls), len(hosts)), (1, 1))
    host = by_url.get(next(iter(urls)))
    C("that URL is a node's", host is not None and host.name == next(iter(hosts)), str(urls))
    spread = {A.dev_ticket(f"room-{i}", "x").json.get("node") for i in range(30)}
    C.eq("30 new rooms from node A spread over the three nodes", sorted(spread),
         sorted(by_name))

    C.section("clients with tickets from different nodes meet on the host")
    ta, tc = A.dev_ticket(ROOM, "alice"), Cn.dev_ticket(ROOM, "bob")
    alice, ack_a = await join(ta.json["signal_url"], ta.json["ticket"])
    bob, ack_b = await join(tc.json["signal_url"], tc.json["ticket"])
    C.eq("alice (ticket from A) joins", ack_a.get("type"), "ack")
    C.eq("bob (ticket from C) joins", ack_b.get("type"), "ack")
    names = {p.get("user") for p in ((ack_b.get("data") or {}).get("room") or {}).get(
        "participants", [])}
    C("bob's join result lists alice: one room", "alice" in names, short(ack_b))
    hint = (ack_a.get("data") or {}).get("cluster") or {}
    C.eq("the join result names the host and the other nodes' signal URLs",
         (hint.get("node"), sorted(hint.get("signal_urls") or [])),
         (host.name, sorted(n.ws_url(2) for n in nodes if n is not host)))
    await asyncio.sleep(LEASE_MS / 1000)
    C.eq("Redis: the room's lease names the host", redis.command("GET", f"hearth:room:{ROOM}"),
         host.name)
    C.eq("and the hash of rooms too", redis.command("HGET", "hearth:rooms", ROOM), host.name)
    pttl = redis.command("PTTL", f"hearth:room:{ROOM}")
    C(f"the lease expires within {LEASE_MS} ms unless renewed", 0 < pttl <= LEASE_MS, pttl)

    C.section("a join sent to another node is redirected; its ticket is not spent")
    other = next(n for n in nodes if n is not host)
    tw = other.dev_ticket(ROOM, "carol")
    s = await Sig.connect(other.ws_url(2))
    ack = await s.join(tw.json["ticket"], ROOM)
    data = ack.get("data") or {}
    C.eq("room_elsewhere with the host's signal URL", (data.get("code"), data.get("signal_url")),
         ("room_elsewhere", host.ws_url(2)))
    code = await s.wait_close(3)
    C.eq("then the socket closes (1001)", code, 1001)
    carol, ack = await join(host.ws_url(2), tw.json["ticket"])
    C.eq("the same ticket joins the host", ack.get("type"), "ack")

    C.section("a kick on another node: 307 to the host, hearthctl follows, carol is out")
    r = other.admin("POST", "/moderation", {"action": "kick", "room": ROOM, "user": "carol"},
                    key=ADMIN_KEY)
    C.eq("the other node answers 307 room_elsewhere, Location: the host's same path",
         (r.status, r.error_code, {k.lower(): v for k, v in r.headers.items()}.get("location")),
         (307, "room_elsewhere", host.base_url + "/v1/admin/moderation"))
    loop = asyncio.get_running_loop()
    t0 = time.monotonic()
    ctl = loop.run_in_executor(None, lambda: H.Ctl(args.build_dir, other).run(
        "--url", other.base_url, "--admin-key", ADMIN_KEY, "kick", ROOM, "carol", common=False))
    code = await carol.wait_close(5)
    rc, out, err = await ctl
    C("hearthctl kick on the other node exits 0", rc == 0, err[-300:])
    C.eq("carol's session on the host closes 4008 (kicked)", code, 4008)
    if carol.closed_at is not None:
        ms = (carol.closed_at - t0) * 1000
        C.info("kick on another node -> close on the host (hearthctl included)", f"{ms:.0f} ms")
        C("within 500 ms", ms < 500, f"{ms:.0f} ms")

    C.section("closing a room from another node: 307 to the host, hearthctl follows")
    td = A.dev_ticket("closing-room", "dave")
    dave, ack = await join(td.json["signal_url"], td.json["ticket"], "closing-room")
    C.eq("dave joins closing-room on its host", ack.get("type"), "ack")
    away = next(n for n in nodes if n is not by_name.get(td.json.get("node")))
    rc, out, err = None, "", ""
    deadline = time.monotonic() + 3  # until that node's view names the host (a 404 does nothing)
    while rc != 0 and time.monotonic() < deadline:
        rc, out, err = await loop.run_in_executor(None, lambda: H.Ctl(args.build_dir, away).run(
            "--url", away.base_url, "--admin-key", ADMIN_KEY, "close", "closing-room",
            common=False))
    C("hearthctl close on a node that does not host the room exits 0, dave disconnected",
      rc == 0 and "1 participant disconnected" in out, f"exit {rc}: {out[-200:]} {err[-300:]}")
    C.eq("dave's session on the host closes 4008", await dave.wait_close(5), 4008)
    m = next((m for m in dave.seen if m.get("type") == "disconnect"), {})
    C.eq("... told room_closed", (m.get("data") or {}).get("reason"), "room_closed")

    C.section("a lease taken from under the host: the room is handed over")
    target = next(n for n in nodes if n is not host and n is not other)
    old_host = host
    tok_a = ((ack_a.get("data") or {}).get("resume") or {}).get("token")
    tok_b = ((ack_b.get("data") or {}).get("resume") or {}).get("token")
    pid_a = ((ack_a.get("data") or {}).get("participant") or {}).get("id")
    t0 = time.monotonic()
    redis.command("SET", f"hearth:room:{ROOM}", target.name, "PX", 30000)
    redis.command("HSET", "hearth:rooms", ROOM, target.name)
    m = await alice.wait_type("disconnect", timeout=LEASE_MS / 1000 + 3)
    d = (m or {}).get("data") or {}
    C.eq("alice is told: moved, resume, at the new node's URL",
         (d.get("reason"), d.get("resume"), d.get("signal_url")),
         ("moved", True, target.ws_url(2)))
    C.info("lease changed -> disconnect moved", f"{(time.monotonic() - t0) * 1000:.0f} ms")
    await alice.wait_close(3)
    await bob.wait_close(3)
    # The views converge within a second: until then a node may still point at the old host,
    # which points back (room_elsewhere both ways); the client follows.
    alice, ack, where, tries = await resume_anywhere(C, "alice", [target] + nodes, tok_a, ROOM,
                                                     5)
    C.eq("alice resumes on the new node", (ack.get("type"), where), ("ack", target.name))
    C.info("alice's tries", tries)
    C.eq("as the same participant", ((ack.get("data") or {}).get("participant") or {}).get("id"),
         pid_a)
    tok_a = ((ack.get("data") or {}).get("resume") or {}).get("token")
    bob, ack, where, _ = await resume_anywhere(C, "bob", [target] + nodes, tok_b, ROOM, 5)
    C.eq("bob too", (ack.get("type"), where), ("ack", target.name))
    tok_b = ((ack.get("data") or {}).get("resume") or {}).get("token")
    names = {p.get("user") for p in ((ack.get("data") or {}).get("room") or {}).get(
        "participants", [])}
    C("bob's resume lists alice", "alice" in names, short(ack))
    redis.command("PEXPIRE", f"hearth:room:{ROOM}", 1)  # the split is over: the new node
    await asyncio.sleep(LEASE_MS / 1000)  # renews the lease as its own
    C.eq("the new node holds the lease", redis.command("GET", f"hearth:room:{ROOM}"),
         target.name)
    # The old host's room is empty now (open until rooms.empty_timeout_s): it claims nothing,
    # or it would take the room back when the new node dies, moving the clients a second time.
    m = old_host.metric_samples()
    C.eq("the old host neither holds nor claims the room's lease (held, pending)",
         (m.get(("hearth_cluster_leases_held", frozenset())),
          m.get(("hearth_cluster_leases_pending", frozenset()))), (0.0, 0.0))
    host = target

    C.section("Redis restarted during the call: calls go on, joins work again after")
    redis.stop()
    await asyncio.sleep(1.5)
    ack = await alice.request("room.info", {})
    C.eq("with Redis gone, alice's session is served", ack.get("type"), "ack")
    ta = target.dev_ticket(ROOM, "frank")
    frank, ack = await join(ta.json["signal_url"], ta.json["ticket"])
    C.eq("and a new join on the host works (its room is here)", ack.get("type"), "ack")
    await frank.close()
    redis.start()
    t0 = time.monotonic()
    back = False
    while not back and time.monotonic() - t0 < 10:
        await asyncio.sleep(0.1)
        back = redis.command("GET", f"hearth:room:{ROOM}") == target.name
    C("Redis back (empty): the host claims its room's lease again", back,
      redis.command("GET", f"hearth:room:{ROOM}"))
    C.info("Redis back -> lease claimed again", f"{(time.monotonic() - t0) * 1000:.0f} ms")
    # Each node's views come back with its next reads of the registry and the room hash (once a
    # second each, after every node has written its beacon again): routing converges within a
    # few seconds. Until then a ticket may name another node, whose lease claim then hands the
    # room back (the hand-over above).
    t1 = time.monotonic()
    tg = None
    while time.monotonic() - t1 < 8:
        tg = other.dev_ticket(ROOM, "grace")
        if tg.json.get("node") == target.name:
            break
        await asyncio.sleep(0.2)
    C.eq("a ticket from another node names the host again", tg.json.get("node"), target.name)
    C.info("lease back -> another node routes to the host again",
           f"{(time.monotonic() - t1) * 1000:.0f} ms")
    grace, ack = await join(tg.json["signal_url"], tg.json["ticket"])
    C.eq("and that join works", ack.get("type"), "ack")
    await grace.close()

    C.section("kill -9 of the hosting node: its clients resume on another node")
    th = host.dev_ticket(ROOM, "henry")  # never comes back: his record is an orphan
    henry, ack = await join(th.json["signal_url"], th.json["ticket"])
    C.eq("henry joins the host too", ack.get("type"), "ack")
    await asyncio.sleep(1.2)  # the resume tokens and records are written; a beacon round
    t0 = time.monotonic()
    host.kill()
    alive = [n for n in nodes if n is not host]
    await alice.wait_close(3)
    await bob.wait_close(3)
    alice, ack, where, tries = await resume_anywhere(C, "alice", alive, tok_a, ROOM, 20)
    took = time.monotonic() - t0
    tok_a = token(ack)
    C("alice resumes on a live node", alice is not None, short(ack) if ack else "")
    C.info("kill -9 -> alice resumed", f"{took:.2f} s ({tries} tries, on {where})")
    C(f"within the lease and beacon windows (< {LEASE_MS / 1000 + 6:.0f} s)",
      took < LEASE_MS / 1000 + 6, f"{took:.2f} s")
    C.eq("as the same participant", ((ack.get("data") or {}).get("participant") or {}).get("id"),
         pid_a)
    bob, ack, where_b, _ = await resume_anywhere(C, "bob", alive, tok_b, ROOM, 10)
    tok_b = token(ack)
    C.eq("bob resumes on the same node", where_b, where)
    names = {p.get("user") for p in ((ack.get("data") or {}).get("room") or {}).get(
        "participants", [])}
    C("and finds alice there", "alice" in names, short(ack))
    # Within two TTLs: a node that took the room over before the dead one's lease ran out (its
    # views lagging) found that name on it, and claims again a whole TTL later (CONTESTED).
    t1, holder = time.monotonic(), None
    while time.monotonic() - t1 < 2 * LEASE_MS / 1000 + 1 and holder != where:
        await asyncio.sleep(0.1)
        holder = redis.command("GET", f"hearth:room:{ROOM}")
    C.eq("the lease names that node", holder, where)
    sql = ("SELECT count(*) FROM mod_state WHERE kind = 'session' AND value LIKE "
           "'%\"user\":\"henry\"%'")
    left = None
    while time.monotonic() - t0 < GRACE_S + 15:
        rc, out, _ = pg.psql(DB, sql)
        left = out.strip() if rc == 0 else None
        if left == "0":
            break
        await asyncio.sleep(0.5)
    C.eq(f"henry, who resumed nowhere, is dropped from the store after the restart window "
         f"({GRACE_S} s)", left, "0")
    C.info("kill -9 -> henry's record dropped", f"{time.monotonic() - t0:.1f} s")
    ev = by_name[where].admin("GET", "/events?user=henry&kind=session.leave", key=ADMIN_KEY)
    codes = [e.get("code") for e in ((ev.json or {}).get("events") or [])]
    C("and audited as session.leave expired", "expired" in codes, str(codes))
    tn = by_name[where].dev_ticket(ROOM, "dave") if where in by_name else None
    C.eq("a new ticket names it", tn and tn.json.get("node"), where)

    C.section("drain (SIGTERM) of the hosting node: its clients resume on the next node")
    host = by_name[where]
    nxt = next(n for n in alive if n is not host)
    await asyncio.sleep(1.2)  # a registry round: the host's view of the other node is fresh
    t0 = time.monotonic()
    stopping = asyncio.ensure_future(host.astop(C))
    m = await alice.wait_type("disconnect", timeout=5)
    d = (m or {}).get("data") or {}
    C.eq("alice is told: shutdown, resume now, at the next node's URL",
         (d.get("reason"), d.get("resume"), d.get("retry_after_ms"), d.get("signal_url")),
         ("shutdown", True, 0, nxt.ws_url(2)))
    await alice.wait_close(3)
    await bob.wait_close(3)
    alice, ack, w, tries = await resume_anywhere(C, "alice", [nxt], tok_a, ROOM, 10)
    C.eq("alice resumes there", (ack.get("type"), w), ("ack", nxt.name))
    C.info("drain -> alice resumed", f"{(time.monotonic() - t0) * 1000:.0f} ms ({tries} tries)")
    bob, ack, w, _ = await resume_anywhere(C, "bob", [nxt], tok_b, ROOM, 10)
    C.eq("bob too", (ack.get("type"), w), ("ack", nxt.name))
    await stopping
    for s in (alice, bob):
        if s:
            await s.close()
    nxt.stop(C)
    pg.stop()


if __name__ == "__main__":
    H.run_main("cluster: rooms placed over nodes, redirects, hand-over, kill -9", body)
