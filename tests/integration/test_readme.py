#!/usr/bin/python3
"""
The README's quick start, run verbatim on a fresh copy of the source tree (issue 14: "every
command in it runs as written"):

- the first command of "Two commands" (`scripts/run-dev.sh`) builds hearthd and hearthctl from
  scratch in the copy and serves the dev profile on 127.0.0.1:7880, data in ./hearth-data;
- each command of "Quick start with curl", as the README writes it (bash, from the tree's
  root), exits 0; where the README shows the answer (`# {"status":"ok"}`) the answer is that;
- between them the test does what the README's comments ask: it joins alice over the WebSocket
  with the ticket the first curl printed, and bob with the one `hearthctl ticket` printed;
  `participants` lists who is in, the revocation closes alice's session, the kick bob's,
  `drain` stops hearthd.

Port 7880 is fixed by the README: the test re-executes itself in a fresh network namespace with
only `lo` (root and `unshare`), so it collides with nothing; without one it needs 7880 free.
The build takes both cores for minutes: ctest runs it alone, and only in the release stage.
"""

import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BASE = "http://127.0.0.1:7880"


def reexec_in_netns():
    if os.environ.get("HEARTH_IN_NETNS") == "1" or os.geteuid() != 0 or not shutil.which("unshare"):
        return
    if subprocess.run(["unshare", "-n", "--", "true"], capture_output=True).returncode != 0:
        return
    env = dict(os.environ, HEARTH_IN_NETNS="1")
    argv = [sys.executable] + sys.argv
    quoted = " ".join("'" + a.replace("'", "'\\''") + "'" for a in argv)
    r = subprocess.run(["unshare", "-n", "--", "bash", "-c", f"ip link set lo up && exec {quoted}"],
                       env=env)
    sys.exit(r.returncode)


def sh_block(readme, heading):
    """The first ```sh block after the heading line."""
    at = readme.index(heading)
    m = re.search(r"```sh\n(.*?)```", readme[at:], re.S)
    return m.group(1)


def commands(block):
    """The block's commands: comment lines dropped, backslash continuations joined."""
    out, cur = [], ""
    for line in block.split("\n"):
        if not cur and (not line.strip() or line.lstrip().startswith("#")):
            continue
        cur += line
        if cur.endswith("\\"):
            cur = cur[:-1]
            continue
        out.append(cur.strip())
        cur = ""
    return out


def copy_tree(dst):
    """The source as a fresh clone has it: tracked files and new ones not ignored."""
    files = subprocess.run(["git", "-C", REPO, "ls-files", "-z", "--cached", "--others",
                            "--exclude-standard"], capture_output=True, check=True).stdout
    for rel in filter(None, files.decode().split("\0")):
        src = os.path.join(REPO, rel)
        if not os.path.isfile(src):
            continue
        os.makedirs(os.path.dirname(os.path.join(dst, rel)), exist_ok=True)
        shutil.copy2(src, os.path.join(dst, rel))


def port_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def run(cmd, cwd):
    p = subprocess.run(["bash", "-c", cmd], cwd=cwd, capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


async def main(args, C):
    if not port_free(7880):
        msg = "127.0.0.1:7880 is taken and no network namespace could be made"
        if H.in_ci():
            raise RuntimeError(msg)
        raise H.Skip(msg)
    with open(os.path.join(REPO, "README.md")) as f:
        readme = f.read()
    start = commands(sh_block(readme, "## Two commands"))
    quick = commands(sh_block(readme, "## Quick start with curl"))
    C.eq("the README's first command is run-dev.sh", start, ["scripts/run-dev.sh"])
    C("the quick start has its commands", len(quick) >= 10, str(quick))

    tree = os.path.join(H.make_tmp("hearth-readme-"), "hearth")
    copy_tree(tree)
    log_path = os.path.join(os.path.dirname(tree), "run-dev.log")
    logf = open(log_path, "w")
    t0 = time.time()
    proc = subprocess.Popen(["bash", "-c", start[0]], cwd=tree, stdout=logf,
                            stderr=subprocess.STDOUT, start_new_session=True)
    alice = bob = None
    try:
        with C.section("scripts/run-dev.sh on a fresh copy"):
            ready = False
            while time.time() - t0 < 900 and proc.poll() is None:
                r = H.http(BASE, "GET", "/healthz", timeout=2) if not port_free(7880) else None
                if r and r.status == 200:
                    ready = True
                    break
                time.sleep(1)
            with open(log_path) as f:
                text = f.read()
            C("hearthd built and serving /healthz on 127.0.0.1:7880", ready, text[-2000:])
            C.info("build and start", f"{time.time() - t0:.0f} s")
            C("it runs the dev profile", "profile=dev" in text or '"profile":"dev"' in text,
              text[-500:])
            C("./hearth-data holds its data", os.path.isdir(os.path.join(tree, "hearth-data")))
            if not ready:
                return

        with C.section("the quick start, verbatim"):
            for cmd in quick:
                rc, out, err = await asyncio.to_thread(run, cmd, tree)
                C(f"$ {cmd[:90]}: exit 0", rc == 0, (out + err)[-600:])
                shown = re.search(r"#\s*(\{.*\})\s*$", cmd)
                if shown and rc == 0:
                    C.eq(f"  answers {shown.group(1)}", json.loads(out), json.loads(shown.group(1)))
                if "/v1/join-tickets" in cmd and rc == 0:
                    t = json.loads(out)
                    C.eq("  signal_url as shown", t.get("signal_url"),
                         "ws://127.0.0.1:7880/v1/signal?v=2")
                    turn = [u for s in t.get("ice_servers", []) for u in s.get("urls", [])
                            if u.startswith("turn:127.0.0.1:")]
                    C("  ice_servers carry the embedded TURN on loopback", bool(turn), out[:400])
                    alice, reply = await H.join_with_ticket(t["signal_url"], t, room="lobby")
                    C.eq("  alice joins with it over the WebSocket", reply.get("type"), "ack")
                elif "hearthctl ticket lobby --user bob --json" in cmd and rc == 0:
                    t = json.loads(out)
                    bob, reply = await H.join_with_ticket(t["signal_url"], t, room="lobby")
                    C.eq("  bob joins with it", reply.get("type"), "ack")
                elif "hearthctl participants lobby" in cmd:
                    who = ["alice"] + (["bob"] if bob else [])
                    C(f"  lists {' and '.join(who)}", all(w in out for w in who), out[-400:])
                elif "hearthctl revoke user alice" in cmd and alice:
                    C("  alice's session is closed", await alice.wait_close(3) is not None)
                elif "hearthctl kick lobby bob" in cmd and bob:
                    C("  bob's session is closed", await bob.wait_close(3) is not None)
                elif "hearthctl drain" in cmd:
                    try:
                        code = await asyncio.to_thread(proc.wait, 20)
                    except subprocess.TimeoutExpired:
                        code = None
                    C.eq("  hearthd stops, exit 0", code, 0)
                elif "build/hearth-load" in cmd:
                    m = re.search(r"participants\s+(\d+) of (\d+) joined, (\d+) failed", out)
                    C("  all 5 participants joined, none failed",
                      m is not None and m.groups() == ("5", "5", "0"), out[-600:])
                elif "/metrics" in cmd and rc == 0:
                    C("  Prometheus text", "# TYPE hearth_build_info gauge" in out, out[:300])
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 9)
            proc.wait()
        logf.close()


if __name__ == "__main__":
    reexec_in_netns()
    H.run_main("test_readme", main)
