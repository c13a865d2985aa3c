#!/bin/sh
# Build the bench/ C programs against the main build's static library (run the main build
# first: cmake -S . -B build -G Ninja && cmake --build build). Outputs land in build/.
set -eu
cd "$(dirname "$0")/.."
B=${BUILD_DIR:-build}
LIBS=$(pkg-config --libs libuv libwebsockets jansson openssl sqlite3 usrsctp)
cc -O2 -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Isrc -Itests bench/bench_forward.c \
    tests/support/engine_fixture.c "$B/libhearth.a" $LIBS -lm -lpthread -o "$B/bench_forward"
echo "built $B/bench_forward"
cc -O2 -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Isrc bench/bench_gso.c \
    "$B/libhearth.a" $LIBS -lpthread -o "$B/bench_gso"
echo "built $B/bench_gso"
