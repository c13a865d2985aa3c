#!/bin/bash
# RSS per subscriber at the margin: a fresh dev hearthd on loopback (one media worker, in
# hearthd), 1 video publisher (1.2 Mbps)
# and N subscribers for 20 s, peak VmRSS growth; run it for two N and divide the difference.
# Usage: bench/rss_margin.sh [BUILD_DIR] N   e.g. for n in 40 120; do bench/rss_margin.sh build $n; done
set -eu
B=${1:-build}; N=${2:-40}
D=$(mktemp -d); PF=$D/port
"$B/hearthd" --profile dev --listen 127.0.0.1:0 --data-dir "$D" --port-file "$PF" \
    --set rooms.max_participants=1000 --set media.workers=1 >"$D/log" 2>&1 &
HP=$!
trap 'kill $HP 2>/dev/null; rm -rf "$D"' EXIT
for _ in $(seq 100); do [ -s "$PF" ] && break; sleep 0.1; done
sleep 0.5
r0=$(awk '/VmRSS/{print $2}' /proc/$HP/status)
"$B/hearth-load" --url "http://127.0.0.1:$(cat "$PF")" --publishers 1 --subscribers "$N" \
    --duration 20 --join-rate 50 --video-kbps 1200 --progress 0 >"$D/load" 2>&1 &
LP=$!
peak=$r0
while kill -0 $LP 2>/dev/null; do
    r=$(awk '/VmRSS/{print $2}' /proc/$HP/status); [ "$r" -gt "$peak" ] && peak=$r; sleep 0.2
done
echo "N=$N RSS before $r0 KiB, peak $peak KiB, growth $((peak - r0)) KiB"
grep -E "participants" "$D/load" | head -1
