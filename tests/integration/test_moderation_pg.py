#!/usr/bin/python3
"""
test_moderation.py's checks against hearthd on PostgreSQL (store.backend = postgres), on a
server this test starts itself (harness.PgServer: initdb into a temp dir, a Unix socket, fsync
on; skipped where PostgreSQL is not installed, failed under CI=true):

- votes, refusals, a room's policy, a ban that survives a restart, unrevoke;
- kill -9 in the middle of a burst of 1,000 moderation actions from 4 moderators: every action
  acknowledged before the kill is in the audit trail after the restart, which verifies;
- changing, deleting or reordering one stored record with psql on the socket makes
  `hearthctl audit verify ROOM` exit 1 and name the record (--json: by id); the untouched
  store verifies.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
import test_moderation as M  # noqa: E402

DB = "hearth"


def psql_ok(C, pg, sql):
    rc, out, err = pg.psql(DB, sql)
    if rc != 0:
        C(f"psql: {sql[:60]}", False, err)
    return out


async def named(ctl, room):
    """(exit status, ids the problems name, output) of hearthctl audit verify room --json."""
    rc, out, err = await ctl.arun("audit", "verify", room, "--json")
    try:
        problems = json.loads(out).get("problems") or []
    except ValueError:
        problems = []
    return rc, {p.get("id") for p in problems}, out + err


def tampering(pg):
    async def run(C, srv, ctl):
        ids = [int(x) for x in psql_ok(C, pg, f"SELECT id FROM events WHERE room = '{M.ROOM}'"
                                              " ORDER BY seq").split()]
        C("the hall chain has records to tamper with", len(ids) >= 5, f"{len(ids)}")
        mid = ids[len(ids) // 2]
        # What each edit must name: the edited record; for a deletion, the record after the gap.
        expect = {"changed": {mid}, "deleted": {ids[len(ids) // 2 + 1]},
                  "reordered": {ids[1], ids[2]}}
        await srv.astop(C)
        psql_ok(C, pg, "CREATE TABLE bak AS SELECT * FROM events;"
                       " CREATE TABLE bak_heads AS SELECT * FROM chain_heads")
        for what, sql in M.tamper_cases(ids):
            psql_ok(C, pg, sql)
            srv.start()
            rc, out, err = await ctl.arun("audit", "verify", M.ROOM)
            C(f"{what} record (psql): hearthctl audit verify exits 1", rc == 1, out + err)
            rc, ids_named, text = await named(ctl, M.ROOM)
            C(f"{what} record (psql): the report names it by id",
              rc == 1 and expect[what] <= ids_named, f"want {expect[what]} in {text}")
            await srv.astop(C)
            psql_ok(C, pg, "DELETE FROM events; INSERT INTO events SELECT * FROM bak;"
                           " DELETE FROM chain_heads;"
                           " INSERT INTO chain_heads SELECT * FROM bak_heads")
        srv.start()
        rc, out, err = await ctl.arun("audit", "verify")
        C("untouched: hearthctl audit verify exits 0", rc == 0, out + err)
    return run


async def main(args, C):
    pg = H.PgServer().start()
    pg.createdb(DB)
    srv = H.Server(args.build_dir, name="moderation-pg", sets=M.SETS,
                   config={"store": {"backend": "postgres", "postgres_url": pg.url(DB)}}).start()
    ctl = H.Ctl(args.build_dir, srv)
    C("hearthd keeps its store in PostgreSQL, not in the data dir",
      not os.path.exists(os.path.join(srv.data_dir, "hearth.db"))
      and psql_ok(C, pg, "SELECT count(*) FROM secrets").strip() == "3")  # ticket, resume, TURN
    await M.run_checks(C, srv, ctl, tampering(pg))
    await srv.astop(C)
    pg.stop()


if __name__ == "__main__":
    H.run_main("moderation on PostgreSQL", main)
