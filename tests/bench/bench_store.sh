#!/bin/bash
# bench_store.sh - figures for the store (agent/store*.c), by hand or from
# `make bench`; it prints plain lines and asserts nothing.
#
#   bash tests/bench/bench_store.sh [ROWS [PROBES]]    (default 1000000 20)
#
# Goals (issue): >= 100k rows/s through store_append + store_flush,
# < 64 bytes per stored result including indexes, a bounded WAL, and a
# quick open of a 1-million-row database.
#
# The driver links only the objects the store needs (shared/, store*.o,
# loop.o, schema.o), so it builds while other modules are in progress.
set -eu
TOP=$(cd "$(dirname "$0")/../.." && pwd)
cd "$TOP"
ROWS=${1:-1000000}
PROBES=${2:-20}

SHARED_OBJ=$(ls shared/*.c | sed 's|^\(.*\)\.c$|build/\1.o|')
STORE_OBJ=$(ls agent/store*.c | sed 's|^\(.*\)\.c$|build/\1.o|')
# shellcheck disable=SC2086
make -s $STORE_OBJ build/agent/loop.o build/schema.o $SHARED_OBJ
mkdir -p build/bench
# shellcheck disable=SC2046
cc -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter \
    -Ishared -Iagent -Ibuild $(pkg-config --cflags sqlite3) \
    -o build/bench/store_bench tests/bench/store_bench.c \
    $STORE_OBJ build/agent/loop.o build/schema.o $SHARED_OBJ \
    $(pkg-config --libs sqlite3 libcjson openssl 2>/dev/null) -lpthread -lm

DIR=$(mktemp -d "${TMPDIR:-/tmp}/vt-bench-store.XXXXXX")
trap 'rm -rf "$DIR"' EXIT
echo "store bench: $(nproc) cores, sqlite $(pkg-config --modversion sqlite3)," \
    "db in $DIR ($(df -T "$DIR" | awk 'NR==2 {print $2}'))"
build/bench/store_bench "$DIR" "$ROWS" "$PROBES"
