#!/usr/bin/env bash
# Runs one fuzzer (make fuzz builds them) from its checked-in seeds for SECONDS.
#
#   scripts/fuzz.sh NAME SECONDS [libFuzzer flags...]
#
# NAME is rules, config or record. New inputs go to build/fuzz/corpus/NAME (kept
# between runs; the seeds in fuzz/corpus/NAME are only read), a crashing, leaking,
# hanging or UB-triggering input to build/fuzz/artifacts/ and the exit status is
# non-zero. Reproduce one with build/fuzz/fuzz-NAME FILE (a record input is also a
# recording: build/vigil replay FILE). Extra flags go to libFuzzer, e.g. -jobs=2.
set -euo pipefail
cd "$(dirname "$0")/.."
name=$1 secs=$2
shift 2
bin=${FUZZ_BUILD:-build/fuzz}/fuzz-$name
work=${FUZZ_BUILD:-build/fuzz}/corpus/$name
arts=${FUZZ_BUILD:-build/fuzz}/artifacts
mkdir -p "$work" "$arts"
flags=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536
	-close_fd_mask=3 -print_final_stats=1 -artifact_prefix="$arts/$name-")
[ -f "fuzz/$name.dict" ] && flags+=(-dict="fuzz/$name.dict")
seeds=("fuzz/corpus/$name")
# Falco's own ruleset, kept beside the project (never copied into it), when present
[ "$name" = rules ] && [ -d ../shared/compat ] && seeds+=(../shared/compat)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
echo "fuzz: $name for ${secs}s"
exec "$bin" "${flags[@]}" "$@" "$work" "${seeds[@]}"
