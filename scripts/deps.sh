#!/usr/bin/env bash
# Installs what SEV needs to build, run and test, when it is missing.
# Debian packages via apt-get, Node packages via npm ci. Idempotent and quiet when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."

want="build-essential pkg-config libuv1-dev libhttp-parser-dev libjansson-dev libsqlite3-dev
      libcurl4-openssl-dev libssl-dev zlib1g-dev libhiredis-dev libpq-dev nodejs npm sqlite3"
# libFuzzer on Debian 12: clang (14) compiles, libclang-rt-14-dev holds libclang_rt.fuzzer*.a
fuzz="clang libclang-rt-14-dev"
case "${1:-}" in
  --test) want="$want chromium valgrind postgresql redis-server $fuzz" ;;
  --cluster) want="$want postgresql redis-server nginx" ;;
  --fuzz) want="$want $fuzz" ;;
  --bench) want="$want nginx libnginx-mod-nchan wrk php-fpm php-slim php-sqlite3" ;;
esac

missing=""
for p in $want; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# node and npm may come from outside Debian on some images; accept them if present
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=$(echo "$missing" | tr ' ' '\n' | grep -vx -e nodejs -e npm | tr '\n' ' ')
fi
if [ -n "${missing// /}" ]; then
  echo "deps: installing Debian packages:$missing" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "deps: installing npm packages" >&2
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi
