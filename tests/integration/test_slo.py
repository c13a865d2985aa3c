#!/usr/bin/python3
"""
The SLIs of DESIGN §8 on a real hearthd (docs/slo.md): every SLI series on /metrics at zero before
anything happened, and `hearthctl slo` saying "no data" for each; then a real call (hearth-load: a
publisher and a subscriber, each with its own ICE/DTLS/SRTP) walks the join funnel from ticket to
first media and counts the offers and the join SLI; a malformed offer, a replayed ticket, a
session that leaves without media and a kick move the failure counters and the forced-disconnect
histograms; `hearthctl slo` (table and --json) reports each SLI against its target, and its
figures agree with what this test computes from /metrics itself.
"""

import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as H  # noqa: E402
from harness import Sig, err_code  # noqa: E402

STAGES = ["ticket_minted", "signal_connected", "joined", "ice_connected", "dtls_connected",
          "first_media"]
SLIS = ["join_success", "reconnect_success", "forced_disconnect_media", "forced_disconnect_close",
        "negotiation_errors"]


def scrape(srv):
    return srv.metric_samples()


def get(ms, name, **labels):
    """The series' value, or None when /metrics does not have it."""
    return ms.get((name, frozenset(labels.items())))


def total(ms, name, **labels):
    """Sum over the series of `name` that carry these labels."""
    want = set(labels.items())
    return sum(v for (n, ls), v in ms.items() if n == name and want <= set(ls))


def funnel(ms, stage):
    return get(ms, "hearth_join_funnel_total", stage=stage)


def failed(ms, stage, reason):
    return get(ms, "hearth_join_funnel_failures_total", stage=stage, reason=reason)


def slo_table(ctl):
    """`hearthctl slo`: exit status, {sli name: its line}."""
    rc, out, err = ctl.run("slo")
    lines = {}
    for line in out.splitlines():
        first = line.split(" ", 1)[0]
        if first in SLIS:
            lines[first] = line
    return rc, lines, out + err


def slo_json(ctl):
    rc, out, err = ctl.run("slo", "--json")
    try:
        doc = json.loads(out)
    except ValueError:
        return rc, None, out + err
    return rc, {s["name"]: s for s in doc.get("slis", [])}, out


async def joined_client(srv, room, user):
    t = srv.dev_ticket(room, user)
    ws = await Sig.connect(srv.ws_url(2))
    ack = await ws.join(t.json["ticket"], room)
    return ws, ack, t.json["ticket"]


async def main(args, C):
    load = os.path.join(args.build_dir, "hearth-load")
    srv = H.Server(args.build_dir, "dev", name="slo",
                   sets=["http.rate_per_s=1000", "http.burst=1000"])
    with C.section("start"):
        if not C("hearthctl and hearth-load exist",
                 os.path.exists(H.hearthctl_path(args.build_dir)) and os.path.exists(load)):
            return
        srv.start()
    ctl = H.Ctl(args.build_dir, srv)

    with C.section("before anything: every series at zero, no data"):
        m0 = scrape(srv)
        for s in STAGES:
            C.eq(f"hearth_join_funnel_total{{stage={s}}} is 0", funnel(m0, s), 0.0)
        C.eq("a join refusal series is there at 0", failed(m0, "joined", "room_full"), 0.0)
        C.eq("a media failure series is there at 0", failed(m0, "dtls_connected", "dtls_failed"),
             0.0)
        C.eq("the reconnect series: 2 kinds x 6 outcomes, all 0",
             sorted(v for (n, _), v in m0.items() if n == "hearth_reconnects_total"), [0.0] * 12)
        C.eq("hearth_offers_total{pc=subscriber} is 0",
             get(m0, "hearth_offers_total", pc="subscriber"), 0.0)
        C.eq("hearth_join_media_within_target_total is 0",
             get(m0, "hearth_join_media_within_target_total"), 0.0)
        rc, lines, text = slo_table(ctl)
        C.eq("hearthctl slo exits 0", rc, 0)
        C("one line per SLI", sorted(lines) == sorted(SLIS), text[:600])
        C("each says no data", all("no data" in ln for ln in lines.values()), text[:600])
        rc, slis, text = slo_json(ctl)
        C("hearthctl slo --json exits 0 with the five SLIs", rc == 0 and slis is not None
          and sorted(slis) == sorted(SLIS), text[:600])
        if slis:
            C("--json: no data, value null, for each",
              all(s["status"] == "no data" and s["value"] is None for s in slis.values()),
              text[:600])

    with C.section("a real call: a publisher and a subscriber to first media"):
        cmd = [load, "--url", srv.base_url, "--room", "call", "--publishers", "1",
               "--subscribers", "1", "--duration", "6", "--video-kbps", "300", "--progress", "0",
               "--json"]
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=60)
        lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
        r = json.loads(lines[-1]) if lines else {}
        C.eq("hearth-load: both joined", r.get("joined"), 2)
        C("hearth-load: media arrived", r.get("rx_packets", 0) > 100, p.stderr[-400:])
        m1 = scrape(srv)
        for s in STAGES:
            C.eq(f"funnel {s}: 2", funnel(m1, s), 2.0)
        C.eq("no funnel failure", total(m1, "hearth_join_funnel_failures_total"), 0.0)
        C.eq("join SLI denominator: 2 joins negotiated media",
             get(m1, "hearth_join_media_attempts_total"), 2.0)
        C.eq("join SLI numerator: both connected within 5 s",
             get(m1, "hearth_join_media_within_target_total"), 2.0)
        C.eq("the older histogram agrees: 2 joins reached media",
             get(m1, "hearth_join_media_seconds_count"), 2.0)
        C("the publisher's offer counted", get(m1, "hearth_offers_total", pc="publisher") >= 1)
        C("our subscriber offers counted", get(m1, "hearth_offers_total", pc="subscriber") >= 1)
        C.eq("no offer failed", total(m1, "hearth_offers_failed_total"), 0.0)
        rc, lines, text = slo_table(ctl)
        C("slo: join_success ok, 2 of 2", "ok" in lines.get("join_success", "")
          and "2 of 2 joins" in lines.get("join_success", ""), text[:800])
        C("slo: negotiation_errors ok", " ok " in lines.get("negotiation_errors", ""), text[:800])
        C("slo: reconnect_success no data", "no data" in lines.get("reconnect_success", ""))

    with C.section("failures: a bad offer, a replayed ticket, a session without media, a kick"):
        a, ack, ticket = await joined_client(srv, "f", "mallory")
        C.eq("mallory joined", ack.get("type"), "ack")
        rep = await a.request("sdp.offer", {"pc": "publisher", "sdp": "this is not sdp"})
        C.eq("a malformed offer: bad_sdp", err_code(rep), "bad_sdp")
        b = await Sig.connect(srv.ws_url(2))
        rep = await b.join(ticket, "f")
        C.eq("the same ticket again: ticket_replayed", err_code(rep), "ticket_replayed")
        C.eq("... closed 4003", await b.wait_close(), 4003)
        t = srv.admin_ticket("f", "idle", grants={"publish": False, "subscribe": False,
                                                  "data": False})
        c = await Sig.connect(srv.ws_url(2))
        ack = await c.join(t.json["ticket"], "f")
        C.eq("idle (no media grants: no transports) joined", ack.get("type"), "ack")
        rep = await c.request("leave", {})
        C.eq("idle leaves, never having had media", rep.get("type"), "ack")
        await c.wait_close()
        rc, out, err = await ctl.arun("kick", "f", "mallory", "--reason", "test")
        C.eq("hearthctl kick f mallory exits 0", rc, 0)
        C.eq("mallory is closed 4008", await a.wait_close(), 4008)

        def settled():
            m = scrape(srv)
            return m if get(m, "hearth_forced_disconnect_media_seconds_count") else None
        m2 = H.wait_until(settled, timeout=5.0) or scrape(srv)
        C.eq("offers_failed{publisher,bad_sdp}: 1",
             get(m2, "hearth_offers_failed_total", pc="publisher", reason="bad_sdp"), 1.0)
        C.eq("offers{publisher}: one more", get(m2, "hearth_offers_total", pc="publisher"),
             get(m1, "hearth_offers_total", pc="publisher") + 1)
        C.eq("funnel failures{joined,ticket_replayed}: 1", failed(m2, "joined", "ticket_replayed"),
             1.0)
        C.eq("funnel failures{ice_connected,no_media}: 1 (idle)",
             failed(m2, "ice_connected", "no_media"), 1.0)
        C.eq("funnel failures{ice_connected,closed}: 1 (mallory: offered, never connected)",
             failed(m2, "ice_connected", "closed"), 1.0)
        C.eq("funnel joined: 4", funnel(m2, "joined"), 4.0)
        C.eq("funnel signal_connected: 5", funnel(m2, "signal_connected"), 5.0)
        C.eq("funnel ticket_minted: 4", funnel(m2, "ticket_minted"), 4.0)
        C.eq("join SLI: mallory's offer made her a third attempt",
             get(m2, "hearth_join_media_attempts_total"), 3.0)
        C.eq("the kick: forced_disconnect_seconds observed once",
             get(m2, "hearth_forced_disconnect_seconds_count"), 1.0)
        C.eq("the kick: forced_disconnect_media_seconds observed once",
             get(m2, "hearth_forced_disconnect_media_seconds_count"), 1.0)

    with C.section("hearthctl slo against /metrics"):
        m3 = scrape(srv)
        rc, lines, text = slo_table(ctl)
        C.eq("hearthctl slo exits 0 (below target is an answer)", rc, 0)
        js = lines.get("join_success", "")
        C("join_success: 2 of 3, below target", "2 of 3 joins" in js and "below target" in js
          and "66.667%" in js, text[:900])
        rc, slis, text = slo_json(ctl)
        C.eq("--json exits 0", rc, 0)
        slis = slis or {}
        j = slis.get("join_success", {})
        want = get(m3, "hearth_join_media_within_target_total") / get(
            m3, "hearth_join_media_attempts_total")
        C("--json join_success value = within / attempts from /metrics",
          j.get("value") is not None and abs(j["value"] - want) < 1e-9, f"{j} vs {want}")
        C.eq("--json join_success status", j.get("status"), "below target")
        n = slis.get("negotiation_errors", {})
        offers = total(m3, "hearth_offers_total")
        fails = total(m3, "hearth_offers_failed_total")
        C("--json negotiation_errors: failed / offers from /metrics, below target",
          n.get("count") == fails == 1 and n.get("total") == offers
          and abs(n.get("value", -1) - fails / offers) < 1e-9 and n.get("status") == "below target",
          f"{n} vs {fails}/{offers}")
        for name, fam in (("forced_disconnect_media", "hearth_forced_disconnect_media_seconds"),
                          ("forced_disconnect_close", "hearth_forced_disconnect_seconds")):
            s = slis.get(name, {})
            within = get(m3, f"{fam}_bucket", le="0.1")
            ok = within == get(m3, f"{fam}_count")
            C(f"--json {name}: {'ok' if ok else 'below target'} as the 0.1 s bucket says, p99 "
              "measured", s.get("status") == ("ok" if ok else "below target")
              and s.get("count") == within and s.get("total") == 1
              and isinstance(s.get("p99_ms"), (int, float)), f"{s}")
            C(f"table {name}: p99 in ms", re.search(r"p99 [0-9.]+ ms", lines.get(name, ""))
              is not None, lines.get(name, ""))
        r = slis.get("reconnect_success", {})
        C("--json reconnect_success: no data, 0 of 0",
          r.get("status") == "no data" and r.get("total") == 0, f"{r}")

    srv.stop(C)


if __name__ == "__main__":
    H.run_main("SLIs on /metrics and hearthctl slo", main)
