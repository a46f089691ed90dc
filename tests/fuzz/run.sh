#!/bin/sh
# tests/fuzz/run.sh NAME SECONDS
# tests/fuzz/run.sh NAME --runs N
#
# Runs build/fuzz/fuzz_NAME (built by `make fuzz-build`; this script builds
# nothing) from the repository root on a copy of its committed corpus
# tests/fuzz/corpus/NAME/ in build/fuzz/work/NAME/, so new inputs never land
# in the committed folder. A crash is written to build/fuzz/artifacts/NAME/
# and the exit status is non-zero.
#
# SECONDS: a timed run; the work corpus is kept between timed runs so they
#          build on each other.
# --runs N: N executions after the corpus, from a fresh copy and a fixed
#          seed (what `make test` runs).
set -eu

usage() {
    echo "usage: $0 NAME SECONDS | $0 NAME --runs N" >&2
    exit 2
}
[ $# -ge 2 ] || usage
name=$1
shift
cd "$(dirname "$0")/../.."

case $name in
request) max_len=8192 ;;    # a whole FastCGI environment
body) max_len=8192 ;;       # CONSENT_MAX_BODY
config) max_len=32768 ;;    # the example is ~8 KB
rules) max_len=16384 ;;     # geo/rules.json is ~9 KB, plus the header
receipt) max_len=8192 ;;    # a 4096-byte payload's JWS is ~5.6 KB
gpp) max_len=1100 ;;        # GPP_MAX_STRING (1024) and a little beyond
*) echo "$0: unknown harness $name" >&2; exit 2 ;;
esac

bin=build/fuzz/fuzz_$name
seeds=tests/fuzz/corpus/$name
work=build/fuzz/work/$name
artifacts=build/fuzz/artifacts/$name/
dict=
[ -f tests/fuzz/$name.dict ] && dict=-dict=tests/fuzz/$name.dict
if [ ! -x "$bin" ]; then
    echo "$0: $bin is missing: make fuzz-build" >&2
    exit 2
fi

case $1 in
--runs)
    [ $# -eq 2 ] || usage
    limit="-runs=$2 -seed=1"
    rm -rf "$work"
    ;;
*[!0-9]* | '') usage ;;
*)
    [ $# -eq 1 ] || usage
    limit="-max_total_time=$1"
    ;;
esac

mkdir -p "$work" "$artifacts" build/logs
cp "$seeds"/* "$work"/
log=build/logs/fuzz-$name.log
echo "== fuzz: $name ($*)"
status=0
# shellcheck disable=SC2086
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
"$bin" $limit $dict -max_len=$max_len -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$artifacts" "$work" >"$log" 2>&1 ||
    status=$?
if [ $status -ne 0 ]; then
    grep -v -E '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse)' "$log" | tail -n 60
    echo "fuzz: $name failed (exit $status); crash input in $artifacts" >&2
    exit 1
fi
grep -E '^#[0-9]+[[:space:]]+DONE|^Done' "$log" | tail -n 2
