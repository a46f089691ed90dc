#!/bin/sh
# make bench: the real stack (redis-server, consentd release build, nginx)
# and an empty FastCGI responder, started here on loopback ports and stopped
# by PID; wrk against each; one table with ratios measured in this one run.
#
# Environment: BENCH_SECONDS (default 10), BENCH_CONNECTIONS (64),
# BENCH_RECEIPTS (receipts written for the Redis memory figure, 100000),
# BENCH_IDS (over how many consent IDs, 20000).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=$(mktemp -d /tmp/consent-bench-XXXXXX)
SECS=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNECTIONS:-64}
RECEIPTS=${BENCH_RECEIPTS:-100000}
IDS=${BENCH_IDS:-20000}
PORT=18080; CONSENTD_PORT=19091; EMPTY_PORT=19092; REDIS_PORT=16391
PIDS=""

cleanup() {
    for p in $PIDS; do kill -TERM "$p" 2>/dev/null || true; done
    [ -f "$DIR/nginx.pid" ] && kill -TERM "$(cat "$DIR/nginx.pid")" 2>/dev/null || true
    sleep 0.5
    for p in $PIDS; do kill -KILL "$p" 2>/dev/null || true; done
    [ -n "${BENCH_KEEP:-}" ] || rm -rf "$DIR"
}
trap cleanup EXIT INT TERM

mkdir -p "$DIR/tmp" "$DIR/redis"
"$ROOT/build/release/consentd" --new-key "$DIR/signing.key"
"$ROOT/build/release/consentd" --new-key "$DIR/cookie.key"
node -e '
const fs = require("fs");
const [root, dir, cport, rport] = process.argv.slice(1);
const c = JSON.parse(fs.readFileSync(root + "/cgi/consentd.example.json"));
c.listen = "127.0.0.1:" + cport;
c.workers = 96;
c.access_log = false;
c.geoip = {database: root + "/build/fixtures/geoip2-city.mmdb", layout: "geoip2"};
c.rules = root + "/geo/rules.json";
c.texts = root + "/i18n";
c.redis.address = "127.0.0.1:" + rport;
c.signing_key = dir + "/signing.key";
c.cookie.secret = dir + "/cookie.key";
delete c.admin;
fs.writeFileSync(dir + "/consentd.json", JSON.stringify(c));
' "$ROOT" "$DIR" "$CONSENTD_PORT" "$REDIS_PORT"

redis-server "$ROOT/redis/redis.conf" --port "$REDIS_PORT" --dir "$DIR/redis" \
    --daemonize no --logfile "$DIR/redis.log" &
PIDS="$PIDS $!"
"$ROOT/build/release/consentd" -c "$DIR/consentd.json" 2>"$DIR/consentd.log" &
CONSENTD_PID=$!
PIDS="$PIDS $CONSENTD_PID"
"$ROOT/build/bench/empty" "127.0.0.1:$EMPTY_PORT" 96 &
PIDS="$PIDS $!"
user_line=""
[ "$(id -u)" -eq 0 ] && user_line="user root;"
sed -e "s|@DIR@|$DIR|g" -e "s|@PORT@|$PORT|g" -e "s|@CONSENTD_PORT@|$CONSENTD_PORT|g" \
    -e "s|@EMPTY_PORT@|$EMPTY_PORT|g" -e "s|@USER_LINE@|$user_line|g" \
    "$ROOT/bench/nginx.conf.in" >"$DIR/nginx.conf"
nginx -p "$DIR" -c "$DIR/nginx.conf" -e "$DIR/nginx-error.log"
B=http://127.0.0.1:$PORT
for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "$B/consent/v1/health" 2>/dev/null && break
    sleep 0.1
done

# The reference static file: exactly the size of a first-time decision.
curl -fsS -H 'X-Forwarded-For: 46.4.0.1' "$B/consent/v1/banner?site=demo" >"$DIR/decision.json"
DECISION_BYTES=$(wc -c <"$DIR/decision.json")
export BENCH_HASH=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).texts_sha256)' "$DIR/decision.json")
export BENCH_VERSION=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).banner_version)' "$DIR/decision.json")
# A returning visitor: one stored consent (the write issues the cookie).
curl -fsS -c "$DIR/jar" -o /dev/null -H 'X-Forwarded-For: 46.4.0.1' -H 'Content-Type: application/json' \
    -d "{\"site\":\"demo\",\"banner_version\":\"$BENCH_VERSION\",\"texts_sha256\":\"$BENCH_HASH\",\"action\":\"reject_all\"}" \
    "$B/consent/v1/consents"
RETURNING="consent=$(awk '$6 == "consent" {print $7}' "$DIR/jar")"

# wrk NAME URL [script]: prints "NAME rps p50_ms p99_ms"
run_wrk() {
    name=$1; url=$2; script=${3:-}
    if [ -n "$script" ]; then
        out=$(wrk -t2 -c"$CONNS" -d"${SECS}s" --latency -s "$script" "$url" 2>"$DIR/wrk.err")
    else
        out=$(wrk -t2 -c"$CONNS" -d"${SECS}s" --latency "$url" 2>"$DIR/wrk.err")
    fi
    echo "$out" >"$DIR/wrk-$name.txt"
    rps=$(echo "$out" | awk '/^Requests\/sec/ {print $2}')
    p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
    p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
    non2xx=$(echo "$out" | awk '/Non-2xx/ {print $5}')
    echo "$name $rps $(to_ms "$p50") $(to_ms "$p99") ${non2xx:-0}"
}
to_ms() {   # wrk prints 512.00us / 1.23ms / 1.02s
    echo "$1" | awk '/us$/ {sub("us",""); printf "%.3f", $1/1000; next}
                     /ms$/ {sub("ms",""); printf "%.3f", $1; next}
                     /s$/  {sub("s","");  printf "%.3f", $1*1000; next}'
}

echo "warming up..." >&2
wrk -t2 -c"$CONNS" -d2s "$B/empty" >/dev/null
wrk -t2 -c"$CONNS" -d2s -s "$ROOT/bench/get.lua" "$B/consent/v1/banner?site=demo" >/dev/null

# BENCH_PROFILE=DIR: instead of the table, record perf profiles of consentd
# under the first-time decision and the write load into DIR.
profile() {     # profile NAME wrk-args...
    name=$1; shift
    perf record -F 999 -g -o "$BENCH_PROFILE/perf-$name.data" -p "$CONSENTD_PID" -- sleep 4 \
        >/dev/null 2>&1 &
    perf_pid=$!
    wrk -t2 -c"$CONNS" -d5s "$@" >/dev/null 2>&1 || true
    wait "$perf_pid" || true
}
if [ -n "${BENCH_PROFILE:-}" ]; then
    mkdir -p "$BENCH_PROFILE"
    BENCH_COOKIE="" profile first -s "$ROOT/bench/get.lua" "$B/consent/v1/banner?site=demo"
    profile write -s "$ROOT/bench/write.lua" "$B/consent/v1/consents"
    echo "profiles in $BENCH_PROFILE: perf report -i $BENCH_PROFILE/perf-first.data"
    exit 0
fi
R_STATIC=$(run_wrk static "$B/static/decision.json")
R_EMPTY=$(run_wrk empty "$B/empty")
R_FIRST=$(BENCH_COOKIE="" run_wrk first "$B/consent/v1/banner?site=demo" "$ROOT/bench/get.lua")
R_RETURN=$(BENCH_COOKIE="$RETURNING" run_wrk returning "$B/consent/v1/banner?site=demo" "$ROOT/bench/get.lua")
RSS_ANON=$(awk '/RssAnon/ {print $2}' "/proc/$CONSENTD_PID/status")
R_WRITE=$(run_wrk write "$B/consent/v1/consents" "$ROOT/bench/write.lua")
RSS_ANON_W=$(awk '/RssAnon/ {print $2}' "/proc/$CONSENTD_PID/status")
RSS_FILE=$(awk '/RssFile/ {print $2}' "/proc/$CONSENTD_PID/status")
grep -c 'write answered' "$DIR/wrk.err" >/dev/null 2>&1 && \
    echo "note: some writes were not 201: $(sort "$DIR/wrk.err" | uniq -c | head -3)" >&2

# Redis memory per receipt: a fresh database, then RECEIPTS receipts over
# IDS visitors with mixed history lengths (bench/memory.js).
redis-cli -p "$REDIS_PORT" FLUSHALL >/dev/null
MEM0=$(redis-cli -p "$REDIS_PORT" INFO memory | awk -F: '/^used_memory:/ {print $2}' | tr -d '\r')
ANSWERED=$(node "$ROOT/bench/memory.js" "$B" "$RECEIPTS" "$IDS")
# Counted in Redis, not trusted from the driver: every field of every
# consent hash but its head.
WRITTEN=$(redis-cli -p "$REDIS_PORT" EVAL "local n = 0 for _, k in ipairs(redis.call('KEYS', 'c:{*}')) do n = n + redis.call('HLEN', k) - 1 end return n" 0)
NIDS=$(redis-cli -p "$REDIS_PORT" EVAL "return #redis.call('KEYS', 'c:{*}')" 0)
MEM1=$(redis-cli -p "$REDIS_PORT" INFO memory | awk -F: '/^used_memory:/ {print $2}' | tr -d '\r')
PER_RECEIPT=$(( (MEM1 - MEM0) / (WRITTEN > 0 ? WRITTEN : 1) ))
GZ=$(cat "$ROOT/static/consent.js" "$ROOT/static/consent.css" | gzip -9 -n | wc -c)

echo
echo "consent backend benchmark - $(date -u +%Y-%m-%d), $(nproc) cores, wrk -t2 -c$CONNS -d${SECS}s, nginx 1 worker"
echo
printf '| %-40s | %9s | %8s | %8s | %9s | %9s |\n' "scenario" "req/s" "p50 ms" "p99 ms" "vs empty" "vs static"
printf '|%s|%s|%s|%s|%s|%s|\n' "------------------------------------------" "-----------" "----------" "----------" "-----------" "-----------"
S=$(echo "$R_STATIC" | awk '{print $2}'); E=$(echo "$R_EMPTY" | awk '{print $2}')
line() {    # line LABEL "name rps p50 p99 non2xx"
    echo "$2" | awk -v label="$1" -v s="$S" -v e="$E" '{
        printf "| %-40s | %9.0f | %8s | %8s | %9.2f | %9.2f |%s\n", label, $2, $3, $4, $2/e, $2/s,
               ($5 > 0 ? "  (" $5 " non-2xx)" : "") }'
}
line "1. nginx static file (${DECISION_BYTES} B)" "$R_STATIC"
line "2. empty FastCGI responder" "$R_EMPTY"
line "3. decision, first-time visitor" "$R_FIRST"
line "4. decision, returning visitor (+Redis)" "$R_RETURN"
line "5. receipt write (sign + Lua write)" "$R_WRITE"
echo
P99E=$(echo "$R_EMPTY" | awk '{print $4}'); P99F=$(echo "$R_FIRST" | awk '{print $4}')
echo "decision p99 / empty p99: $(awk -v a="$P99F" -v b="$P99E" 'BEGIN {printf "%.2f", a/b}')"
echo "consentd RSS (anonymous, without the mapped GeoIP file): $((RSS_ANON / 1024)) MB after reads, $((RSS_ANON_W / 1024)) MB after writes; file-backed $((RSS_FILE / 1024)) MB"
echo "Redis memory per receipt: $PER_RECEIPT bytes ($WRITTEN receipts over $NIDS consent IDs, $ANSWERED answered 201, used_memory $MEM0 -> $MEM1)"
echo "consent.js + consent.css, gzip -9: $GZ bytes"
"$ROOT/build/bench/tally"
