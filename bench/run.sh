#!/usr/bin/env bash
# run.sh - builds the benchmark programs (bench/bench.mk) and runs the harness
# (bench/run.py). Arguments go to run.py: e.g. --quick, --only latency,
# --rounds 3, --out DIR. `sudo make bench` runs the full set into bench/results.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
PYTHON=${PYTHON:-/usr/bin/python3}

if [ "$(id -u)" -ne 0 ]; then
	echo "bench: needs root (BPF programs, auditd): sudo make bench" >&2
	exit 1
fi
[ -x "$BUILD/vigil" ] || { echo "bench: $BUILD/vigil is missing: run make first" >&2; exit 1; }
make -s BUILD="$BUILD" "$BUILD/vmlinux.h"
make -s -f bench/bench.mk BUILD="$BUILD"
VIGIL_BUILD="$BUILD" exec "$PYTHON" bench/run.py "$@"
