#!/usr/bin/env bash
# Build hearthd (and hearthctl, hearth-load) and run it on its embedded defaults (the dev profile:
# 127.0.0.1:7880, dev auth, SQLite in ./hearth-data). Extra arguments go to
# hearthd, e.g. scripts/run-dev.sh --listen 127.0.0.1:9000 --log-json
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh run
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHX_TESTS=OFF >/dev/null
cmake --build build --target hearthd hearthctl hearth-load
exec build/hearthd --profile dev "$@"
