#!/bin/bash
# The 1,000-person audio room (issue 11): 10 publishers of which one talks at a time (hearth-load
# --talkers 1: Opus-like, 50 packets/s) and 990 listeners, joining a fresh dev hearthd on loopback
# at 100 joins/s, then 20 s of audio. hearthd runs on core 0 and hearth-load on core 1 (taskset),
# so each side's CPU is its own and a reader sees which one is the limit. Prints hearth-load's
# summary (join p50/p99 to media, loss, latency) and both programs' CPU over the run.
# Usage: bench/big_room.sh [BUILD_DIR] [SUBSCRIBERS]   (default build, 990)
set -eu
B=${1:-build}; N=${2:-990}
D=$(mktemp -d); PF=$D/port
taskset -c 0 "$B/hearthd" --profile dev --listen 127.0.0.1:0 --data-dir "$D" --port-file "$PF" \
    --set rooms.max_participants=1000 --set http.rate_per_s=2000 --set http.burst=4000 \
    >"$D/log" 2>&1 &
HP=$!
trap 'kill $HP 2>/dev/null; rm -rf "$D"' EXIT
for _ in $(seq 100); do [ -s "$PF" ] && break; sleep 0.1; done
tk=$(getconf CLK_TCK)
t0=$(awk '{print $14+$15}' /proc/$HP/stat)
s0=$(date +%s.%N)
taskset -c 1 "$B/hearth-load" --url "http://127.0.0.1:$(cat "$PF")" --publishers 10 \
    --subscribers "$N" --no-video --talkers 1 --duration 20 --join-rate 100 --progress 0 \
    >"$D/load" 2>"$D/err" &
LP=$!
lt=0
while kill -0 $LP 2>/dev/null; do # hearth-load's CPU, read while it runs (its last sample)
    lt=$(awk '{print $14+$15}' /proc/$LP/stat 2>/dev/null || echo "$lt"); sleep 0.5
done
wait $LP || true
t1=$(awk '{print $14+$15}' /proc/$HP/stat)
s1=$(date +%s.%N)
cat "$D/load"
awk -v w="$(awk -v a="$s0" -v b="$s1" 'BEGIN{print b - a}')" -v h=$((t1 - t0)) -v l="$lt" -v tk="$tk" \
    'BEGIN{printf "run %.1f s: hearthd CPU %.2f s, hearth-load CPU at least %.2f s\n", w, h / tk, l / tk}'
