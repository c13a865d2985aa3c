#!/usr/bin/python3
"""
Backends for a test written in another language (tests/browser/cluster.test.mjs): starts what
the arguments name, with harness.py's RedisServer and PgServer (the same throwaway servers the
Python tests use), prints one JSON line with their addresses, and stops them when its stdin
closes (the test ended, or died).

    backends.py redis pg      ->  {"redis": "127.0.0.1:PORT", "pg_url": "postgresql:///hearth?..."}

A peer that is not installed: the line is {"skip": "<why>"} (under CI=true: {"error": ...},
exit 1), so the caller reports it as the Python tests do.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402


def main():
    want = set(sys.argv[1:])
    out, started = {}, []
    try:
        if "redis" in want:
            r = H.RedisServer().start()
            started.append(r)
            out["redis"] = r.addr
        if "pg" in want:
            pg = H.PgServer().start()
            started.append(pg)
            out["pg_url"] = pg.url(pg.createdb("hearth"))
    except H.Skip as e:
        print(json.dumps({"skip": str(e)}), flush=True)
        return 0
    except Exception as e:  # noqa: BLE001 - reported to the caller, which fails the test
        print(json.dumps({"error": str(e)}), flush=True)
        return 1  # what started stops at exit (harness's atexit hooks, the PG guard)
    print(json.dumps(out), flush=True)
    sys.stdin.read()  # until the caller closes it
    for s in reversed(started):
        s.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
