#!/bin/sh
# make bench: the real stack (redis-server, consentd release build, nginx
# with the shipped snippet) and an empty FastCGI responder, started here on
# free loopback ports and stopped by PID; wrk against each; one table with
# ratios measured in this one run.
#
# The stack is started by the one launcher (scripts/launch.js, as make run
# and the tests): nginx/local.conf.in around nginx/consent.conf and
# nginx/consent-http.conf as shipped; the only change is the rate limits'
# zones, bench/limits.conf instead of nginx/consent-limits.conf. Beside the
# snippet, the two reference points (bench/reference.conf) and a larger
# upstream keepalive (32: wrk keeps 64 connections busy).
#
# Last, the decision and the write against a 3-primary Redis Cluster on
# loopback (no replicas; cluster-enabled redis-servers on the shipped
# redis.conf, redis-cli --cluster create), with consentd restarted on
# redis.cluster and the same nginx: ratios to the single server's figures of
# this run.
#
# Environment: BENCH_SECONDS (default 10), BENCH_CONNECTIONS (64),
# BENCH_IDS_FIRST (consent IDs stored for the first lookup run, 10000),
# BENCH_IDS (stored for the second, 100000); each ID has 1 to 10 receipts,
# 5 on average (bench/fill.js), which also give the Redis memory figure.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=$(mktemp -d /tmp/consent-bench-XXXXXX)
SECS=${BENCH_SECONDS:-10}
CONNS=${BENCH_CONNECTIONS:-64}
IDS_FIRST=${BENCH_IDS_FIRST:-10000}
IDS=${BENCH_IDS:-100000}
if [ "$IDS" -le "$IDS_FIRST" ]; then
    echo "BENCH_IDS ($IDS) must be more than BENCH_IDS_FIRST ($IDS_FIRST)" >&2
    exit 2
fi
LAUNCH="node $ROOT/scripts/launch.js"
# Seven free loopback ports (bound to port 0 by the kernel, then released).
# shellcheck disable=SC2046
set -- $($LAUNCH ports 7)
PORT=$1; CONSENTD_PORT=$2; EMPTY_PORT=$3; REDIS_PORT=$4
CLUSTER_PORTS="$5 $6 $7"
EMPTY_PID=""

# Every server the launcher started (its PID files in DIR), then the empty
# responder, by PID.
cleanup() {
    $LAUNCH stop --dir "$DIR" >/dev/null || true
    if [ -n "$EMPTY_PID" ]; then
        kill -TERM "$EMPTY_PID" 2>/dev/null || true
        sleep 0.5
        kill -KILL "$EMPTY_PID" 2>/dev/null || true
    fi
    [ -n "${BENCH_KEEP:-}" ] || rm -rf "$DIR"
}
trap cleanup EXIT INT TERM

# The support token the lookups use (role read), only its hash in the
# configuration; the example configuration on this run's ports, with the
# GeoIP2 fixture and fresh keys in DIR (the launcher's consentdConfig, as
# the tests').
node -e 'console.log(require("crypto").randomBytes(32).toString("base64url"))' >"$DIR/token"
node -e '
const fs = require("fs");
const crypto = require("crypto");
const [launch, dir, cport, rport] = process.argv.slice(1);
const { ROOT, consentdConfig } = require(launch);
const c = consentdConfig({
    fastcgiPort: cport, redisPort: rport, dir,
    geoip: {database: ROOT + "/build/fixtures/geoip2-city.mmdb", layout: "geoip2"},
});
c.workers = 96;
c.access_log = false;
const token = fs.readFileSync(dir + "/token", "utf8").trim();
c.admin = {tokens: [{name: "bench", roles: ["read"],
                     sha256: crypto.createHash("sha256").update(token).digest("hex")}]};
fs.writeFileSync(dir + "/consentd.json", JSON.stringify(c));
' "$ROOT/scripts/launch.js" "$DIR" "$CONSENTD_PORT" "$REDIS_PORT"

"$ROOT/build/bench/empty" "127.0.0.1:$EMPTY_PORT" 96 &
EMPTY_PID=$!
$LAUNCH start --dir "$DIR" --config "$DIR/consentd.json" --consentd "$ROOT/build/release/consentd" \
    --port "$PORT" --limits "$ROOT/bench/limits.conf" --keepalive 32 \
    --http-extra "upstream empty { server 127.0.0.1:$EMPTY_PORT; keepalive 32; }" \
    --server-extra "include $ROOT/bench/reference.conf;" >/dev/null
CONSENTD_PID=$(cat "$DIR/consentd.pid")
B=http://127.0.0.1:$PORT

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
# The same decision left out of the analytics (a crawler's user agent): what
# counting costs the decision, measured in this run.
R_FIRST_BOT=$(BENCH_COOKIE="" BENCH_UA="Mozilla/5.0 (compatible; Googlebot/2.1)" \
    run_wrk first-bot "$B/consent/v1/banner?site=demo" "$ROOT/bench/get.lua")
R_RETURN=$(BENCH_COOKIE="$RETURNING" run_wrk returning "$B/consent/v1/banner?site=demo" "$ROOT/bench/get.lua")
RSS_ANON=$(awk '/RssAnon/ {print $2}' "/proc/$CONSENTD_PID/status")
R_WRITE=$(run_wrk write "$B/consent/v1/consents" "$ROOT/bench/write.lua")
RSS_ANON_W=$(awk '/RssAnon/ {print $2}' "/proc/$CONSENTD_PID/status")
RSS_FILE=$(awk '/RssFile/ {print $2}' "/proc/$CONSENTD_PID/status")
grep -c 'write answered' "$DIR/wrk.err" >/dev/null 2>&1 && \
    echo "note: some writes were not 201: $(sort "$DIR/wrk.err" | uniq -c | head -3)" >&2

# The store for the support lookups and the Redis memory figure: a fresh
# database, IDS_FIRST consent IDs (bench/fill.js: 1 to 10 receipts each,
# 5 on average), lookups of random stored IDs; then more IDs up to IDS, the
# same lookups again. Receipts are counted in Redis, not trusted from the
# driver (every field of every consent hash but its head); the memory figure
# leaves out what the lookups added (their audit entries).
receipts() {
    redis-cli -p "$REDIS_PORT" EVAL "local n = 0 for _, k in ipairs(redis.call('KEYS', 'c:{*}')) do n = n + redis.call('HLEN', k) - 1 end return n" 0
}
used_memory() {
    redis-cli -p "$REDIS_PORT" INFO memory | awk -F: '/^used_memory:/ {print $2}' | tr -d '\r'
}
# SYNC: the memory is freed before MEM0 is read, not later by a thread.
redis-cli -p "$REDIS_PORT" FLUSHALL SYNC >/dev/null
: >"$DIR/ids"
MEM0=$(used_memory)
echo "storing $IDS_FIRST consent IDs..." >&2
ANSWERED=$(node "$ROOT/bench/fill.js" "$B" "$IDS_FIRST" "$DIR/ids")
MEM1=$(used_memory)
export BENCH_ID_FILE="$DIR/ids" BENCH_TOKEN=$(cat "$DIR/token")
lookup_warmup() {
    wrk -t2 -c"$CONNS" -d2s -s "$ROOT/bench/lookup.lua" "$B/consent/v1/admin/consents/" >/dev/null 2>&1
}
lookup_warmup
R_LOOKUP1=$(run_wrk lookup1 "$B/consent/v1/admin/consents/" "$ROOT/bench/lookup.lua")
NIDS1=$(wc -l <"$DIR/ids")
MEM2=$(used_memory)
echo "storing $((IDS - IDS_FIRST)) more..." >&2
ANSWERED=$((ANSWERED + $(node "$ROOT/bench/fill.js" "$B" "$((IDS - IDS_FIRST))" "$DIR/ids")))
MEM3=$(used_memory)
lookup_warmup
R_LOOKUP2=$(run_wrk lookup2 "$B/consent/v1/admin/consents/" "$ROOT/bench/lookup.lua")
NIDS2=$(wc -l <"$DIR/ids")
WRITTEN=$(receipts)
NIDS=$(redis-cli -p "$REDIS_PORT" EVAL "return #redis.call('KEYS', 'c:{*}')" 0)
PER_RECEIPT=$(( (MEM1 - MEM0 + MEM3 - MEM2) / (WRITTEN > 0 ? WRITTEN : 1) ))
GZ=$(cat "$ROOT/static/consent.js" "$ROOT/static/consent.css" | gzip -9 -n | wc -c)

# The same consentd on a 3-primary cluster: stop it, start the cluster, start
# it again with redis.cluster (same port: nginx's upstream is unchanged).
echo "starting a 3-primary Redis Cluster..." >&2
$LAUNCH stop --dir "$DIR" consentd >/dev/null
SEEDS=""
for p in $CLUSTER_PORTS; do
    $LAUNCH redis --dir "$DIR" --port "$p" --name "redis-cluster-$p" -- \
        --cluster-enabled yes --cluster-config-file nodes.conf
    SEEDS="$SEEDS 127.0.0.1:$p"
done
# shellcheck disable=SC2086
redis-cli --cluster create $SEEDS --cluster-replicas 0 --cluster-yes >"$DIR/cluster-create.log"
for p in $CLUSTER_PORTS; do
    for _ in $(seq 1 100); do
        redis-cli -p "$p" CLUSTER INFO | grep -q '^cluster_state:ok' && break
        sleep 0.1
    done
done
node -e '
const fs = require("fs");
const [dir, seeds] = process.argv.slice(1);
const c = JSON.parse(fs.readFileSync(dir + "/consentd.json"));
c.redis = {cluster: seeds.trim().split(" ")};
fs.writeFileSync(dir + "/consentd-cluster.json", JSON.stringify(c));
' "$DIR" "$SEEDS"
$LAUNCH consentd --dir "$DIR" --config "$DIR/consentd-cluster.json" --name consentd-cluster \
    --consentd "$ROOT/build/release/consentd"
CONSENTD_PID=$(cat "$DIR/consentd-cluster.pid")
# nginx may have left consentd out for fail_timeout while it was restarted.
for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "$B/consent/v1/health" 2>/dev/null && break
    sleep 0.1
done
curl -fsS -c "$DIR/jar2" -o /dev/null -H 'X-Forwarded-For: 46.4.0.2' -H 'Content-Type: application/json' \
    -d "{\"site\":\"demo\",\"banner_version\":\"$BENCH_VERSION\",\"texts_sha256\":\"$BENCH_HASH\",\"action\":\"reject_all\"}" \
    "$B/consent/v1/consents"
RETURNING_C="consent=$(awk '$6 == "consent" {print $7}' "$DIR/jar2")"
wrk -t2 -c"$CONNS" -d2s -s "$ROOT/bench/write.lua" "$B/consent/v1/consents" >/dev/null
R_RETURN_C=$(BENCH_COOKIE="$RETURNING_C" run_wrk returning-cluster "$B/consent/v1/banner?site=demo" "$ROOT/bench/get.lua")
R_WRITE_C=$(run_wrk write-cluster "$B/consent/v1/consents" "$ROOT/bench/write.lua")

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
line "3b. the same, not counted (a bot)" "$R_FIRST_BOT"
line "4. decision, returning visitor (+Redis)" "$R_RETURN"
line "5. receipt write (sign + Lua write)" "$R_WRITE"
line "6. support lookup, $NIDS1 IDs stored" "$R_LOOKUP1"
line "7. support lookup, $NIDS2 IDs stored" "$R_LOOKUP2"
line "8. decision, returning, 3-primary cluster" "$R_RETURN_C"
line "9. receipt write, 3-primary cluster" "$R_WRITE_C"
echo
ratio() {   # ratio "name rps ..." "name rps ...": the first's req/s over the second's
    awk -v a="$(echo "$1" | awk '{print $2}')" -v b="$(echo "$2" | awk '{print $2}')" \
        'BEGIN {printf "%.2f", a/b}'
}
echo "analytics: decision counted / not counted (3 / 3b): $(ratio "$R_FIRST" "$R_FIRST_BOT") (1.00: counting costs nothing measurable)"
echo "3-primary cluster / single server, same run: returning decision $(ratio "$R_RETURN_C" "$R_RETURN"), receipt write $(ratio "$R_WRITE_C" "$R_WRITE")"
L1=$(echo "$R_LOOKUP1" | awk '{print $2}'); L2=$(echo "$R_LOOKUP2" | awk '{print $2}')
echo "support lookup, $NIDS2 IDs / $NIDS1 IDs: $(awk -v a="$L2" -v b="$L1" 'BEGIN {printf "%.2f", a/b}') (req/s; 1.00 is flat)"
P99E=$(echo "$R_EMPTY" | awk '{print $4}'); P99F=$(echo "$R_FIRST" | awk '{print $4}')
echo "decision p99 / empty p99: $(awk -v a="$P99F" -v b="$P99E" 'BEGIN {printf "%.2f", a/b}')"
echo "consentd RSS (anonymous, without the mapped GeoIP file): $((RSS_ANON / 1024)) MB after reads, $((RSS_ANON_W / 1024)) MB after writes; file-backed $((RSS_FILE / 1024)) MB"
echo "Redis memory per receipt: $PER_RECEIPT bytes ($WRITTEN receipts over $NIDS consent IDs, $ANSWERED answered 201, used_memory $MEM0 -> $MEM1, $MEM2 -> $MEM3)"
echo "consent.js + consent.css, gzip -9: $GZ bytes"
"$ROOT/build/bench/tally"
