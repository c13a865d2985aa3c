#!/bin/bash
# What an idle room costs: N subscriber-only participants (hearth-load --publishers 0) joined to a
# fresh dev hearthd on loopback, then hearthd's CPU over 40 s, in total and per thread (the main
# thread is the signaling loop). Usage: bench/idle.sh [BUILD_DIR] [N]   (default build, 100)
set -eu
B=${1:-build}; N=${2:-100}
D=$(mktemp -d); PF=$D/port
"$B/hearthd" --profile dev --listen 127.0.0.1:0 --data-dir "$D" --port-file "$PF" >"$D/log" 2>&1 &
HP=$!
trap 'kill $HP 2>/dev/null; rm -rf "$D"' EXIT
for _ in $(seq 100); do [ -s "$PF" ] && break; sleep 0.1; done
"$B/hearth-load" --url "http://127.0.0.1:$(cat "$PF")" --publishers 0 --subscribers "$N" \
    --duration 60 --join-rate 50 --progress 0 >"$D/load" 2>&1 &
LP=$!
sleep 12 # joined
threads() { for t in /proc/$HP/task/*; do echo "$(basename "$t") $(awk '{print $14+$15}' "$t/stat")"; done; }
t0=$(awk '{print $14+$15}' /proc/$HP/stat); threads >"$D/th0"; s0=$(date +%s.%N)
sleep 40
t1=$(awk '{print $14+$15}' /proc/$HP/stat); threads >"$D/th1"; s1=$(date +%s.%N)
tk=$(getconf CLK_TCK)
echo "hearthd, $N idle participants: $(echo "scale=2; 100 * ($t1 - $t0) / $tk / ($s1 - $s0)" | bc) % of a core"
join "$D/th0" "$D/th1" | awk -v tk="$tk" '$3 > $2 {printf "  thread %s: %d ms\n", $1, ($3 - $2) * 1000 / tk}'
wait $LP || true
grep -E "^  joins " "$D/load" | head -1 # (with no publisher, "participants joined" counts none: nothing to receive)
