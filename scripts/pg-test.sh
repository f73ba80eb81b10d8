#!/usr/bin/env bash
# A throwaway PostgreSQL for tests, on loopback, in a directory of its own.
#   scripts/pg-test.sh start [DIR]     initdb (as the postgres user when run as root: initdb
#                                      refuses root), start on a free port of 127.0.0.1 with
#                                      the socket in DIR, create role and database "sev";
#                                      prints the URI (also in DIR/uri) and DIR (in DIR/dir)
#   scripts/pg-test.sh stop DIR [MODE] stop (pg_ctl -m MODE: fast, immediate; default fast)
#   scripts/pg-test.sh restart DIR     start again what stop stopped (same port, same data)
#   scripts/pg-test.sh destroy DIR     stop (immediate) and remove DIR
set -euo pipefail
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "pg-test: PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 2; }

as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

free_port() {
  node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

pg_start() { # dir port
  as_pg "$bin/pg_ctl" -D "$1/data" -l "$1/log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $2 -k $1 -c max_connections=200 -c fsync=on" start >/dev/null
}

case "${1:-}" in
  start)
    dir=${2:-$(mktemp -d /tmp/sev-pg-XXXXXX)}
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
    as_pg "$bin/initdb" -D "$dir/data" -U sev --auth=trust --locale=C -E UTF8 >"$dir/initdb.log" 2>&1 ||
      { cat "$dir/initdb.log" >&2; exit 1; }
    port=$(free_port)
    echo "$port" >"$dir/port.txt"
    pg_start "$dir" "$port"
    as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U sev sev
    uri="postgresql://sev@127.0.0.1:$port/sev"
    echo "$uri" | as_pg tee "$dir/uri" >/dev/null
    echo "$uri"
    ;;
  stop)
    as_pg "$bin/pg_ctl" -D "$2/data" -m "${3:-fast}" -w stop >/dev/null
    ;;
  restart)
    pg_start "$2" "$(cat "$2/port.txt")"
    ;;
  destroy)
    as_pg "$bin/pg_ctl" -D "$2/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$2"
    ;;
  *)
    echo "usage: $0 start [DIR] | stop DIR [fast|immediate] | restart DIR | destroy DIR" >&2
    exit 2
    ;;
esac
