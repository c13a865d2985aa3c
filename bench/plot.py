#!/usr/bin/python3
"""
Plot server CPU against subscribers from bench/compare.py --json output, as a hand-written SVG
(no gnuplot needed): one panel per sweep scenario (a: audio room 10 x N, c: one video publisher
to N), one line per server.

  bench/plot.py results.json docs/benchmarks-cpu.svg
"""

import json
import sys

W, H, PAD = 360, 260, 48
COLORS = {"hearthd": "#c0392b", "janus": "#2c6fbb"}
TITLES = {"a": "(a) audio room, 10 publishers x N", "c": "(c) 1 video publisher (1.2 Mbps) to N"}


def panel(runs, sc, x0):
    pts = {s: sorted((r["subscribers"], r["cpu_pct"]) for r in runs
                     if r["scenario"] == sc and r["server"] == s) for s in COLORS}
    xs = [x for p in pts.values() for x, _ in p] or [1]
    ys = [y for p in pts.values() for _, y in p] or [1]
    xmax, ymax = max(xs), max(max(ys) * 1.15, 1)
    sx = lambda x: x0 + PAD + (W - 2 * PAD) * x / xmax  # noqa: E731
    sy = lambda y: H - PAD + 10 - (H - 2 * PAD) * y / ymax  # noqa: E731
    out = [f'<text x="{x0 + W / 2}" y="18" text-anchor="middle" font-size="13">{TITLES[sc]}</text>',
           f'<line x1="{sx(0)}" y1="{sy(0)}" x2="{sx(xmax)}" y2="{sy(0)}" stroke="black"/>',
           f'<line x1="{sx(0)}" y1="{sy(0)}" x2="{sx(0)}" y2="{sy(ymax)}" stroke="black"/>',
           f'<text x="{x0 + W / 2}" y="{H - 8}" text-anchor="middle" font-size="11">'
           'subscribers N</text>',
           f'<text x="{x0 + 12}" y="{H / 2}" font-size="11" transform="rotate(-90 {x0 + 12} '
           f'{H / 2})" text-anchor="middle">server CPU, % of one core</text>']
    for i in range(5):
        y = ymax * i / 4
        out.append(f'<text x="{sx(0) - 4}" y="{sy(y) + 4}" font-size="10" text-anchor="end">'
                   f'{y:.0f}</text>')
    for x in sorted(set(xs)):
        out.append(f'<text x="{sx(x)}" y="{sy(0) + 14}" font-size="10" text-anchor="middle">'
                   f'{x}</text>')
    for k, (s, p) in enumerate(pts.items()):
        if not p:
            continue
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in p)
        out.append(f'<polyline points="{path}" fill="none" stroke="{COLORS[s]}" '
                   'stroke-width="2"/>')
        out += [f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3" fill="{COLORS[s]}"/>'
                for x, y in p]
        out.append(f'<text x="{sx(0) + 8}" y="{sy(ymax) + 14 * k + 4}" font-size="11" '
                   f'fill="{COLORS[s]}">{s}</text>')
    return out


def main():
    runs = json.load(open(sys.argv[1]))["runs"]
    body = panel(runs, "a", 0) + panel(runs, "c", W)
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * W}" height="{H}" '
           f'font-family="sans-serif">\n<rect width="100%" height="100%" fill="white"/>\n'
           + "\n".join(body) + "\n</svg>\n")
    with open(sys.argv[2], "w") as f:
        f.write(svg)


if __name__ == "__main__":
    main()
