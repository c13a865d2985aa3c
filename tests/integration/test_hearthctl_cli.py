#!/usr/bin/python3
"""
hearthctl covers the admin API (issue 14, item 3): every route hearthd serves (the table in
src/api/admin_routes.c, which the server answers by: a path outside it is 404, a method outside
it 405) has a hearthctl command (the API each command calls is in `hearthctl man`, the command in
`--help` and the completion script); docs/hearthctl.1 is exactly `hearthctl man`; the bash
completion script parses and completes; --json prints a JSON object for every command that
prints; `close` empties a room (disconnect room_closed, close 4008, audited); hearthd is found
from HEARTH_URL, or from its own configuration file with --config (listen, tls with its
certificate trusted, admin_key, data_dir); https with --cacert, --insecure, or neither (refused).
"""

import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import edge_support as E  # noqa: E402
import harness as H  # noqa: E402
from harness import Sig  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ADMIN = "/v1/admin/"


def parse_json(out):
    try:
        return json.loads(out)
    except ValueError:
        return None


def server_routes():
    """(METHOD, /v1/admin/path) for each entry of the route table hearthd answers by."""
    with open(os.path.join(ROOT, "src", "api", "admin_routes.c")) as f:
        src = f.read()
    table = src[src.index("hx_admin_routes[] = {"):]
    table = table[:table.index("};")]
    return [(m, ADMIN + p) for m, p in re.findall(r'\{"([A-Z]+)",\s*"([^"]+)"\}', table)]


def man_commands(man):
    """{command: [(METHOD, path), ...]} from the man page's COMMANDS section."""
    cmds, cur = {}, None
    for line in man.splitlines():
        if line.startswith(".SS "):
            cur = line[4:].replace("\\-", "-").strip()
            cmds[cur] = []
        elif cur and line.startswith("API: "):
            for r in line[5:].replace("\\-", "-").split(", "):
                m, _, p = r.strip().partition(" ")
                cmds[cur].append((m, p))
        elif line.startswith(".SH ") and cur:
            cur = None if "COMMANDS" not in line else cur
    return cmds


def help_commands(text):
    """Command names in `hearthctl --help`'s list (but help, built in, not a table entry)."""
    body = text.split("Commands:", 1)[1].split("\n\n", 1)[0]
    return {line.split()[0] for line in body.splitlines() if line.strip()} - {"help"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bash_complete(script, words):
    prog = (script + "\nCOMP_WORDS=(" + " ".join(f"'{w}'" for w in words) + ")\n"
            "COMP_CWORD=$((${#COMP_WORDS[@]}-1)); COMPREPLY=(); _hearthctl\n"
            'echo "${COMPREPLY[*]}"\n')
    p = subprocess.run(["bash", "--norc", "-c", prog], capture_output=True, text=True, timeout=10)
    return p.returncode, p.stdout.split(), p.stderr


def section_coverage(C, ctl):
    rc, help_out, _ = ctl.run("--help", common=False)
    rc2, man, _ = ctl.run("man", common=False)
    rc3, comp, _ = ctl.run("completion", "bash", common=False)
    C("--help, man and completion bash exit 0", (rc, rc2, rc3) == (0, 0, 0), (rc, rc2, rc3))
    routes = server_routes()
    C("the route table lists the admin routes", len(routes) >= 15, routes)
    helped, cmds = help_commands(help_out), man_commands(man)
    comp_words = set(re.findall(r"[a-z-]+", comp))
    by_route = {}
    for name, rs in cmds.items():
        for r in rs:
            by_route.setdefault(r, []).append(name)
    for m, p in routes:
        names = [n for n in by_route.get((m, p), []) if n in helped and n in comp_words]
        C(f"{m} {p} has a hearthctl command (in --help and the completion)", names,
          f"commands declaring it: {by_route.get((m, p))}")
    for name, rs in cmds.items():
        for m, p in rs:
            if p.startswith(ADMIN):
                C(f"hearthctl {name}'s {m} {p} is a route hearthd serves", (m, p) in routes)
    C("every command in --help has its section in the man page", helped <= set(cmds),
      helped - set(cmds))


def section_route_table(C, srv):
    """The table is what hearthd serves: its paths answer another method with 405, others 404."""
    paths = sorted({p for _, p in server_routes()})
    for p in paths:
        path = p[len("/v1"):].replace("{room}", "lobby")
        r = srv.admin("PUT", path[len("/admin"):])
        C.eq(f"PUT {p}: 405 (a path hearthd serves)", r.status, 405)
    for p in ["/nothing", "/rooms/lobby/nothing", "/rooms/lobby", "/moderation/x"]:
        r = srv.admin("GET", p)
        C.eq(f"GET /v1/admin{p}: 404 (not in the table)", r.status, 404)
    r = srv.admin("GET", "/drain")
    C("GET /v1/admin/drain: 405 use POST (the method from the table)",
      r.status == 405 and "POST" in ((r.json or {}).get("error") or {}).get("message", ""), r.json)


def section_docs(C, ctl):
    rc, man, _ = ctl.run("man", common=False)
    with open(os.path.join(ROOT, "docs", "hearthctl.1")) as f:
        doc = f.read()
    C("docs/hearthctl.1 is `hearthctl man` (regenerate: build/hearthctl man > docs/hearthctl.1)",
      doc == man, "they differ")
    rc, help_out, _ = ctl.run("--help", common=False)
    missing = [c for c in help_commands(help_out) if f".SS {c.replace('-', chr(92) + '-')}\n"
               not in doc]
    C("every command has a section in docs/hearthctl.1", not missing, missing)
    if not shutil.which("groff"):  # groff-base (scripts/deps.sh); a failure under CI=true
        C("groff is installed to read the man page", not H.in_ci(), "not installed: not checked")
        return
    p = subprocess.run(["groff", "-man", "-ww", "-z"], input=man, capture_output=True, text=True)
    C("groff reads the man page without a warning", p.returncode == 0 and not p.stderr.strip(),
      p.stderr[:300])


def section_completion(C, ctl):
    rc, script, _ = ctl.run("completion", "bash", common=False)
    p = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True)
    C("the completion script is valid bash", p.returncode == 0, p.stderr[:300])
    rc, help_out, _ = ctl.run("--help", common=False)
    rc, words, err = bash_complete(script, ["hearthctl", ""])
    C("completes every command name first", help_commands(help_out) <= set(words),
      help_commands(help_out) - set(words))
    cases = [(["hearthctl", "clo"], ["close"]),
             (["hearthctl", "--url", "http://x", "revoke", ""], ["jti", "sid", "user"]),
             (["hearthctl", "audit", ""], ["export", "verify"]),
             (["hearthctl", "ticket", "lobby", "--us"], ["--user"]),
             (["hearthctl", "rooms", "--js"], ["--json"]),
             (["hearthctl", "close", "lobby", "--re"], ["--reason"])]
    for ws, want in cases:
        rc, got, err = bash_complete(script, ws)
        C(f"'{' '.join(ws)}<TAB>' -> {' '.join(want)}", sorted(got) == want, f"{got} {err[:200]}")
    rc, out, err = ctl.run("completion", "zsh", common=False)
    C.eq("completion zsh (not supported) exits 2", rc, 2)


async def section_json_and_close(C, ctl, srv):
    rc, out, _ = await ctl.arun("ticket", "lobby", "--user", "u1", "--json")
    t = parse_json(out) or {}
    u1 = await Sig.connect(t.get("signal_url") or srv.ws_url(2))
    ack = await u1.join(t.get("ticket", ""), "lobby")
    C.eq("u1 joins lobby with a hearthctl ticket", ack.get("type"), "ack")
    runs = [["rooms"], ["nodes"], ["participants", "lobby"], ["revocations"],
            ["events", "--limit", "5"], ["sanctions"], ["votes"], ["policy", "lobby"],
            ["audit", "verify"], ["slo"], ["ticket", "lobby", "--user", "u9"],
            ["revoke", "user", "nobody"], ["unrevoke", "user", "nobody"],
            ["ban", "troll"], ["unban", "troll"], ["timeout", "lobby", "u1", "--duration", "60"],
            ["untimeout", "lobby", "u1"]]
    for args in runs:
        rc, out, err = await ctl.arun(*args, "--json")
        C(f"{' '.join(args)} --json: exit 0, one JSON object", rc == 0
          and isinstance(parse_json(out), dict), f"exit {rc}: {out[:200]} {err[:200]}")

    rc, out, err = await ctl.arun("close", "lobby", "--reason", "maintenance", "--json")
    j = parse_json(out) or {}
    C("close lobby --json: exit 0, {room, closed, disconnected: 1}",
      rc == 0 and j.get("room") == "lobby" and j.get("closed") is True
      and j.get("disconnected") == 1, f"exit {rc}: {out[:200]} {err[:200]}")
    try:
        cc = await u1.wait_close(3)
    except asyncio.TimeoutError:
        cc = "still open"
    m = next((m for m in u1.seen if m.get("type") == "disconnect"), {})
    C.eq("the participant is told disconnect room_closed", (m.get("data") or {}).get("reason"),
         "room_closed")
    C.eq("... and closed with 4008 (no resume)", cc, 4008)
    r = srv.admin("GET", "/rooms/lobby/participants")
    C("nobody is left in lobby", r.status == 404 or not (r.json or {}).get("participants"),
      r.json)
    r = srv.admin_events(kind="room.close")
    evs = (r.json or {}).get("events") or []
    C("the close is audited: room.close, room lobby, code the reason",
      any(e.get("room") == "lobby" and e.get("code") == "maintenance" for e in evs), evs)
    rc, out, err = await ctl.arun("close", "no-such-room")
    C.eq("close of a room that is not open exits 1", rc, 1)
    C("... saying room_not_found", "room_not_found" in err, err[:200])


async def section_env_and_config(C, ctl, srv):
    loop = asyncio.get_running_loop()

    def run(args, env=None):
        return subprocess.run([ctl.bin, *args], capture_output=True, text=True, timeout=15,
                              env=dict(os.environ, **(env or {})))
    p = await loop.run_in_executor(None, lambda: run(["--data-dir", srv.data_dir, "rooms"],
                                                     {"HEARTH_URL": srv.base_url}))
    C("HEARTH_URL finds hearthd", p.returncode == 0 and "NAME" in p.stdout,
      f"exit {p.returncode}: {p.stderr[:200]}")
    p = await loop.run_in_executor(None, lambda: run(
        ["--url", srv.base_url, "--data-dir", srv.data_dir, "rooms"],
        {"HEARTH_URL": "http://127.0.0.1:1"}))
    C.eq("--url wins over HEARTH_URL", p.returncode, 0)
    p = await loop.run_in_executor(None, lambda: run(["--data-dir", srv.data_dir, "rooms"],
                                                     {"HEARTH_URL": "http://127.0.0.1:1"}))
    C.eq("a HEARTH_URL where nobody listens: exit 3", p.returncode, 3)

    # hearthd's own file, naming its listen address and data dir (the admin key is in there).
    conf = os.path.join(srv.tmp, "ctl-view.conf")
    with open(conf, "w") as f:
        f.write(f"profile = dev\nlisten = 127.0.0.1:{srv.port}\ndata_dir = {srv.data_dir}\n")
    p = await loop.run_in_executor(None, lambda: run(["--config", conf, "rooms"],
                                                     {"HEARTH_URL": "http://127.0.0.1:1"}))
    C("--config: listen and data_dir from hearthd's file (over HEARTH_URL)",
      p.returncode == 0 and "NAME" in p.stdout, f"exit {p.returncode}: {p.stderr[:200]}")
    p = await loop.run_in_executor(None, lambda: run(["rooms", "--config", "/nonexistent.conf"]))
    C("--config with a missing file: exit 2, saying so",
      p.returncode == 2 and "nonexistent.conf" in p.stderr, f"{p.returncode} {p.stderr[:200]}")


async def section_tls_config(C, args):
    """A hearthd with TLS and an admin_key in its file: --config alone reaches it over https."""
    tmp = H.make_tmp("hearth-ctl-tls-")
    crt, key = E.make_cert(tmp, "s", "hearth-ctl")
    port = free_port()
    admin_key = "ctl-config-key-0123456789abcdef"
    srv = H.Server(args.build_dir, "dev", name="ctl-tls",
                   config={"": {"listen": f"127.0.0.1:{port}", "admin_key": admin_key},
                           "tls": {"cert_file": crt, "key_file": key}})
    srv.ssl_context = E.trusting(crt)
    srv.keep_port, srv.port = True, port
    srv.start()
    ctl = H.Ctl(args.build_dir, srv)
    rc, out, err = await ctl.arun("--config", srv.config_path, "rooms", "--json", common=False)
    C("--config: https from tls.cert_file (trusted), the URL from listen, admin_key",
      rc == 0 and isinstance((parse_json(out) or {}).get("rooms"), list),
      f"exit {rc}: {out[:200]} {err[:200]}")
    base = ["--url", f"https://127.0.0.1:{port}", "--admin-key", admin_key]
    rc, out, err = await ctl.arun(*base, "rooms", common=False)
    C("https without --cacert: the certificate is refused, exit 3",
      rc == 3 and "certificate" in err.lower(), f"exit {rc}: {err[:200]}")
    rc, out, err = await ctl.arun(*base, "--cacert", crt, "rooms", common=False)
    C.eq("https with --cacert: exit 0", rc, 0)
    rc, out, err = await ctl.arun(*base, "--insecure", "rooms", common=False)
    C.eq("https with --insecure: exit 0", rc, 0)
    srv.stop(C, label="TLS server: SIGTERM -> exit 0 within 5 s")


async def main(args, C):
    srv = H.Server(args.build_dir, "dev", name="ctl-cli",
                   sets=["http.rate_per_s=1000", "http.burst=1000"])
    ctl = H.Ctl(args.build_dir, srv)
    with C.section("every admin route has a command"):
        section_coverage(C, ctl)
    with C.section("the man page"):
        section_docs(C, ctl)
    with C.section("bash completion"):
        section_completion(C, ctl)
    with C.section("start a dev server"):
        srv.start()
    if srv.proc is None:
        return
    with C.section("the route table is what hearthd serves"):
        section_route_table(C, srv)
    with C.section("--json everywhere, close a room"):
        await section_json_and_close(C, ctl, srv)
    with C.section("HEARTH_URL, --config"):
        await section_env_and_config(C, ctl, srv)
    srv.stop(C, label="ctl server: SIGTERM -> exit 0 within 5 s")
    with C.section("https: --config with tls, --cacert, --insecure"):
        await section_tls_config(C, args)


if __name__ == "__main__":
    H.run_main("test_hearthctl_cli", main)
