#!/usr/bin/env bash
# SEV's benchmarks, each against peers measured in the same invocation:
#   fan-out  N WebSocket clients on one streamer; events posted at a fixed rate as signed
#            EventSub webhooks (sev) / to an nchan publisher location (nginx + nchan) / to
#            a uWebSockets.js pub/sub hub (bench/uws-hub.mjs); delivery latency p50/p99/max,
#            deliveries/s, server RSS per client.
#   capacity N clients on one streamer, publish rate rising until p99 > 250 ms or a loss:
#            the highest sustained deliveries/s of each server.
#   many     10,000 clients over 1,000 streamers (10 each), events round-robin over them.
#   ingest   sev only (uWS as a reference ceiling): closed-loop signed webhooks from many
#            keep-alive publishers, each a distinct message id and follower; events/s
#            accepted (204s) and delivered to a few clients, publish latency. The same
#            publisher also drives the seeds' stack (bench/php-slim: Slim 3 on php-fpm behind
#            nginx, HMAC check + SQLite insert, nothing pushed live).
#   idle     RSS per idle WebSocket client: 10,000 clients that never receive an event.
#   pg-ingest  the ingest run with SEV_DATABASE=postgresql://… (a PostgreSQL started here),
#            beside the SQLite ingest run of the same invocation (same publisher, same events).
#   many-nodes the many-streamers run with its clients spread evenly over N sev nodes (one
#            PostgreSQL, one Redis bus, all started here), every event published to node 1.
#   scale-idle M idle clients through nginx (least_conn, WebSocket upgrades) over N sev nodes
#            (PostgreSQL + Redis): established count, RSS per client of each node and of nginx.
#   http     wrk against GET /healthz, GET /api/streamers/{login}/events?limit=10 (from
#            memory) and the same with before= (the cold path: the store answers) (sev), and
#            nginx serving static files of the same sizes.
# The servers get CPU 0, the load generators CPU 1 (taskset), when there are 2+ CPUs.
# nginx runs as a non-daemon child from a temp prefix on a high port; every process started
# here is stopped on exit. Prints figures and ratios; asserts nothing about speed.
#
# Env: SEV_BIN (build/sev), BENCH_QUICK=1 (about four minutes), FANOUT: runs as
#      "clients:events-per-second:events ...", CAPACITY "clients:rate,rate,…:seconds-per-step",
#      CAP_WHO ("sev ngx uws": the capacity run's servers, sev first),
#      MANY "clients:streamers:events-per-second:events"
#      (empty: skip), INGEST "publishers:clients:events" (empty: skip), IDLE clients (empty:
#      skip), HTTP_SECS (0: skip the http runs), HTTP_CONNS,
#      PG_INGEST "publishers:clients:events" (empty: skip; the SQLite run of the same spec is
#      made too when INGEST lacks it), MANY_NODES "clients:streamers:events-per-second:events:nodes"
#      (empty: skip; beside the single-node MANY run of the same first four fields; nodes=1 is
#      one node on PostgreSQL + Redis),
#      SCALE_IDLE "clients:nodes:nginx-workers" (empty: skip). The uWS peer needs node_modules/uws-pack (npm ci);
#      without it its rows are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SEV_BIN=${SEV_BIN:-build/sev}
WSLOAD=${WSLOAD:-bench/build/wsload}
SECRET=bench-secret-0123456789
STREAMER=bench0

# Each rate is the same for both servers; the higher ones are past what nchan keeps up with
# on one core here, which is part of what is measured.
if [ "${BENCH_QUICK:-0}" = 1 ]; then
  FANOUT=${FANOUT-"1000:10:50 10000:5:25"}
  CAPACITY=${CAPACITY-"10000:8,16,24:2"}
  MANY=${MANY-"10000:1000:1000:2000"}
  INGEST=${INGEST-"64:4:30000"}
  PG_INGEST=${PG_INGEST-"64:4:30000"}
  MANY_NODES=${MANY_NODES-"10000:1000:1000:2000:1 10000:1000:1000:2000:3"}
  SCALE_IDLE=${SCALE_IDLE-"12000:6:4"}
  IDLE=${IDLE-10000}
  HTTP_SECS=${HTTP_SECS:-3}
else
  FANOUT=${FANOUT-"1000:10:150 1000:50:500 10000:5:75 10000:10:100"}
  CAPACITY=${CAPACITY-"10000:4,8,12,16,20,24,28,32,40,48:3"}
  MANY=${MANY-"10000:1000:1000:10000"}
  INGEST=${INGEST-"64:4:100000"}
  PG_INGEST=${PG_INGEST-"64:4:100000"}
  MANY_NODES=${MANY_NODES-"10000:1000:1000:10000:1 10000:1000:1000:10000:3"}
  SCALE_IDLE=${SCALE_IDLE-"100000:8:14"}
  IDLE=${IDLE-10000}
  HTTP_SECS=${HTTP_SECS:-10}
fi
HTTP_CONNS=${HTTP_CONNS:-50}
# one wrk thread per load CPU: with the load pinned to one core, two wrk threads take turns on
# it and a reply that lands while its thread waits for the core shows as milliseconds of
# "latency" (seen: SEV's p99 9.5 ms with -t2, 0.57 ms with -t1, same server, same minute)
WRK_THREADS=${WRK_THREADS:-1}

for b in "$SEV_BIN" "$WSLOAD"; do
  [ -x "$b" ] || { echo "bench: $b missing (make all; make -C bench)" >&2; exit 2; }
done
for c in nginx wrk node; do
  command -v $c >/dev/null || { echo "bench: $c missing (scripts/deps.sh --bench)" >&2; exit 2; }
done
NCHAN_SO=$(ls /usr/lib/nginx/modules/ngx_nchan_module.so 2>/dev/null || true)
[ -n "$NCHAN_SO" ] || { echo "bench: nchan module missing (libnginx-mod-nchan)" >&2; exit 2; }
HAVE_UWS=0
[ -f node_modules/uws-pack/package.json ] && HAVE_UWS=1
[ $HAVE_UWS = 1 ] || echo "bench: node_modules/uws-pack missing (npm ci): uWS rows skipped" >&2
PHP_FPM=$(ls /usr/sbin/php-fpm* 2>/dev/null | head -1 || true)
HAVE_PHP=0
[ -n "$PHP_FPM" ] && [ -f /usr/share/php/Slim/autoload.php ] && HAVE_PHP=1
[ $HAVE_PHP = 1 ] || echo "bench: php-fpm or php-slim missing (scripts/deps.sh --bench): PHP rows skipped" >&2
PHP_CHILDREN=${PHP_CHILDREN:-8}

# up to the hard limit: 10,000 clients need as many sockets in the server
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
NOFILE=$(ulimit -n)

CPUS=$(nproc)
if [ "$CPUS" -ge 2 ] && command -v taskset >/dev/null; then
  SRV_CPU="taskset -c 0" LOAD_CPU="taskset -c 1"
else
  SRV_CPU="" LOAD_CPU=""
fi

TMP=$(mktemp -d /tmp/sev-bench.XXXXXX)
chmod 755 "$TMP"
mkdir -p bench/results
OUT=bench/results/$(date -u +%Y%m%dT%H%M%SZ).txt
SEV_PID="" NGX_PID="" UWS_PID="" PHP_PID="" PHPNGX_PID="" NODE_PIDS="" LB_PID="" REDIS_PID="" PG_UP=0

cleanup() {
  local p
  for p in $SEV_PID $NGX_PID $UWS_PID $PHP_PID $PHPNGX_PID $NODE_PIDS $LB_PID $REDIS_PID; do
    kill -TERM "$p" 2>/dev/null || true
  done
  for p in $SEV_PID $NGX_PID $UWS_PID $PHP_PID $PHPNGX_PID $NODE_PIDS $LB_PID $REDIS_PID; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  [ "$PG_UP" = 0 ] || stop_pg
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

wait_http() { # url
  for _ in $(seq 100); do
    if node -e 'fetch(process.argv[1]).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))' "$1"; then return 0; fi
    sleep 0.1
  done
  echo "bench: $1 did not answer" >&2; return 1
}

json() { # RESULT-json key
  node -e 'const o=JSON.parse(process.argv[1]);const v=o[process.argv[2]];console.log(v===undefined?"":v)' "$1" "$2"
}

log() { echo "$@" | tee -a "$OUT"; }

start_sev() {
  SEV_PORT=$(free_port)
  mkdir -p "$TMP/sev"
  rm -f "$TMP"/sev/sev.db*
  SEV_LISTEN=127.0.0.1:$SEV_PORT SEV_PUBLIC_URL=http://localhost:$SEV_PORT \
    SEV_DATABASE=${BENCH_DB:-sqlite:$TMP/sev/sev.db} SEV_KEY_FILE=$TMP/sev/sev.key SEV_WEB_DIR=$ROOT/web \
    SEV_LOG_LEVEL=warn TWITCH_EVENTSUB_SECRET=$SECRET TWITCH_CLIENT_ID= TWITCH_CLIENT_SECRET= \
    $SRV_CPU "$SEV_BIN" >>"$TMP/sev.log" 2>&1 &
  SEV_PID=$!
  wait_http "http://127.0.0.1:$SEV_PORT/healthz"
}

stop_sev() {
  kill -TERM "$SEV_PID" 2>/dev/null || true
  wait "$SEV_PID" 2>/dev/null || true
  SEV_PID=""
}

start_nginx() {
  NGX_PORT=$(free_port)
  mkdir -p "$TMP/ngx/www" "$TMP/ngx/tmp"
  cat >"$TMP/ngx/nginx.conf" <<EOF
load_module $NCHAN_SO;
daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile $NOFILE;
pid $TMP/ngx/nginx.pid;
error_log $TMP/ngx/error.log warn;
events { worker_connections $((NOFILE - 100)); }
http {
  access_log off;
  client_body_temp_path $TMP/ngx/tmp/body;
  proxy_temp_path $TMP/ngx/tmp/proxy;
  fastcgi_temp_path $TMP/ngx/tmp/fastcgi;
  uwsgi_temp_path $TMP/ngx/tmp/uwsgi;
  scgi_temp_path $TMP/ngx/tmp/scgi;
  default_type application/json;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$NGX_PORT;
    root $TMP/ngx/www;
    location = /pub { nchan_publisher; nchan_channel_id \$arg_channel; nchan_message_buffer_length 20; }
    location = /sub { nchan_subscriber websocket; nchan_channel_id \$arg_channel; }
  }
}
EOF
  $SRV_CPU nginx -p "$TMP/ngx" -c "$TMP/ngx/nginx.conf" -e "$TMP/ngx/error.log" >>"$TMP/nginx.log" 2>&1 &
  NGX_PID=$!
  echo '{}' >"$TMP/ngx/www/ping.json"
  wait_http "http://127.0.0.1:$NGX_PORT/ping.json"
  NGX_WORKER=$(pgrep -P "$NGX_PID" | head -1)
}

stop_nginx() {
  kill -QUIT "$NGX_PID" 2>/dev/null || true
  wait "$NGX_PID" 2>/dev/null || true
  NGX_PID=""
}

start_uws() {
  UWS_PORT=$(free_port)
  $SRV_CPU node bench/uws-hub.mjs "$UWS_PORT" >>"$TMP/uws.log" 2>&1 &
  UWS_PID=$!
  wait_http "http://127.0.0.1:$UWS_PORT/healthz"
}

stop_uws() {
  kill -TERM "$UWS_PID" 2>/dev/null || true
  wait "$UWS_PID" 2>/dev/null || true
  UWS_PID=""
}

# The seeds' stack: php-fpm (static pool, opcache on, as production runs it) behind nginx.
start_php() {
  PHP_PORT=$(free_port)
  local d=$TMP/php
  mkdir -p "$d/tmp"
  rm -f "$d/bench.db" "$d/bench.db-wal" "$d/bench.db-shm"
  cat >"$d/fpm.conf" <<EOF
[global]
pid = $d/fpm.pid
error_log = $d/fpm.log
daemonize = no
[bench]
listen = $d/fpm.sock
listen.mode = 0666
pm = static
pm.max_children = $PHP_CHILDREN
pm.max_requests = 0
clear_env = yes
env[SEV_BENCH_SECRET] = $SECRET
env[SEV_BENCH_DB] = $d/bench.db
EOF
  cat >"$d/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
pid $d/nginx.pid;
error_log $d/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $d/tmp/body;
  proxy_temp_path $d/tmp/proxy;
  fastcgi_temp_path $d/tmp/fastcgi;
  uwsgi_temp_path $d/tmp/uwsgi;
  scgi_temp_path $d/tmp/scgi;
  keepalive_requests 1000000;
  upstream fpm { server unix:$d/fpm.sock; }
  server {
    listen 127.0.0.1:$PHP_PORT;
    location = /healthz { default_type application/json; return 200 '{"status":"ok"}'; }
    location / {
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME $ROOT/bench/php-slim/index.php;
      fastcgi_param SCRIPT_NAME /index.php;
      fastcgi_pass fpm;
    }
  }
}
EOF
  # php.ini as production: opcache on, no timestamp checks
  $SRV_CPU "$PHP_FPM" -R -F -y "$d/fpm.conf" -d opcache.enable=1 -d opcache.validate_timestamps=0 \
    -d include_path=.:/usr/share/php >>"$d/fpm.out" 2>&1 &
  PHP_PID=$!
  $SRV_CPU nginx -p "$d" -c "$d/nginx.conf" -e "$d/nginx-error.log" >>"$d/nginx.out" 2>&1 &
  PHPNGX_PID=$!
  wait_http "http://127.0.0.1:$PHP_PORT/healthz"
  for _ in $(seq 100); do [ -S "$d/fpm.sock" ] && break; sleep 0.1; done
}

stop_php() {
  kill -QUIT "$PHPNGX_PID" "$PHP_PID" 2>/dev/null || true
  wait "$PHPNGX_PID" "$PHP_PID" 2>/dev/null || true
  PHP_PID="" PHPNGX_PID=""
}

# ---- scale-out: PostgreSQL, Redis, several sev nodes, nginx in front ----
# PostgreSQL as a production config would have it on this box, nothing unusual: durability
# defaults kept (fsync=on, synchronous_commit=on, full_page_writes=on), shared_buffers 512MB,
# max_wal_size 4GB (so no checkpoint storm in a run), max_connections 200. initdb refuses root,
# so as root it runs as the postgres user. Data in the bench's temp dir; TCP on loopback.
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
PG_SETTINGS="-c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=512MB -c max_wal_size=4GB"
start_pg() {
  [ "$PG_UP" = 1 ] && return 0
  [ -x "$PG_BIN/initdb" ] || { echo "bench: PostgreSQL server binaries missing (postgresql)" >&2; return 1; }
  PG_DIR=$TMP/pg
  mkdir -p "$PG_DIR"
  [ "$(id -u)" -ne 0 ] || chown postgres "$PG_DIR"
  as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -U sev --auth=trust --locale=C -E UTF8 >"$PG_DIR/initdb.log" 2>&1 ||
    { cat "$PG_DIR/initdb.log" >&2; return 1; }
  PG_PORT=$(free_port)
  # pinned with the servers (its backends inherit the postmaster's CPU set)
  as_pg $SRV_CPU "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -t 60 \
    -o "-p $PG_PORT -k $PG_DIR $PG_SETTINGS" start >/dev/null
  PG_UP=1
  PG_URI="postgresql://sev@127.0.0.1:$PG_PORT/sev"
}
stop_pg() {
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
  PG_UP=0
}
pg_fresh() { # an empty database "sev" for the next run
  "$PG_BIN/dropdb" -h 127.0.0.1 -p "$PG_PORT" -U sev --if-exists sev 2>/dev/null
  "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U sev sev
}
pg_pid() { head -1 "$PG_DIR/data/postmaster.pid"; }
pg_commits() { "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U sev -d sev -tAc "SELECT xact_commit FROM pg_stat_database WHERE datname = 'sev'" 2>/dev/null || echo '?'; }
# CPU seconds of PostgreSQL: the postmaster with its reaped children (the backends of sev
# connections already closed) and its live children
pg_cpu() {
  local p=$(pg_pid) q total
  total=$(awk '{ print ($14 + $15 + $16 + $17) / 100 }' "/proc/$p/stat")
  for q in $(pgrep -P "$p"); do
    [ -r "/proc/$q/stat" ] && total=$(awk -v t="$total" '{ print t + ($14 + $15) / 100 }' "/proc/$q/stat")
  done
  echo "$total"
}
pg_rows() { "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U sev -d sev -tAc 'SELECT count(*) FROM events' 2>/dev/null || echo '?'; }

start_redis() {
  [ -n "$REDIS_PID" ] && return 0
  command -v redis-server >/dev/null || { echo "bench: redis-server missing" >&2; return 1; }
  REDIS_PORT=$(free_port)
  $SRV_CPU redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --logfile "$TMP/redis.log" &
  REDIS_PID=$!
  for _ in $(seq 100); do [ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ] && return 0; sleep 0.1; done
  echo "bench: redis did not start" >&2; return 1
}

# N sev nodes on one PostgreSQL and one Redis bus (a fresh database each time); one key for all
start_nodes() { # n [extra env assignments...]
  local n=$1 i port; shift
  start_pg && start_redis || return 1
  pg_fresh
  mkdir -p "$TMP/nodes"
  (umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$TMP/nodes/sev.key"; echo >>"$TMP/nodes/sev.key")
  NODE_PIDS="" NODE_PORTS=""
  for i in $(seq 1 "$n"); do
    port=$(free_port)
    env SEV_LISTEN=127.0.0.1:$port SEV_PUBLIC_URL=http://localhost:$port SEV_NODE_ID=node$i \
      SEV_DATABASE=$PG_URI SEV_BUS=redis://127.0.0.1:$REDIS_PORT SEV_KEY_FILE=$TMP/nodes/sev.key \
      SEV_WEB_DIR=$ROOT/web SEV_LOG_LEVEL=warn SEV_MAX_CONNECTIONS_PER_ADDRESS=0 \
      TWITCH_EVENTSUB_SECRET=$SECRET TWITCH_CLIENT_ID= TWITCH_CLIENT_SECRET= "$@" \
      $SRV_CPU "$SEV_BIN" >>"$TMP/nodes/node$i.log" 2>&1 &
    NODE_PIDS="$NODE_PIDS $!" NODE_PORTS="$NODE_PORTS${NODE_PORTS:+,}$port"
  done
  for port in ${NODE_PORTS//,/ }; do wait_http "http://127.0.0.1:$port/healthz" || return 1; done
}
stop_nodes() {
  local p
  for p in $NODE_PIDS; do kill -TERM "$p" 2>/dev/null || true; done
  for p in $NODE_PIDS; do wait "$p" 2>/dev/null || true; done
  NODE_PIDS=""
}

# nginx in front of the nodes as scripts/cluster.sh has it (least_conn, WebSocket upgrades,
# proxy_read_timeout above SEV's ping interval), sized so that no process passes LB_NOFILE open
# files: each proxied viewer holds two sockets in a worker (client + upstream), so a worker takes
# at most (LB_NOFILE - 500) / 2 viewers; reuseport spreads accepted connections over the workers
# and the upstream zone makes least_conn count across them. proxy_bind $remote_addr connects to
# the node from the viewer's own 127.0.0.x, so nginx's upstream side has as many source
# addresses (and port ranges) as wsload's --src-ips.
LB_NOFILE=${LB_NOFILE:-19500}
start_lb() { # workers
  local w=$1 port ups=""
  LB_PORT=$(free_port)
  mkdir -p "$TMP/lb/tmp"
  for port in ${NODE_PORTS//,/ }; do ups+="    server 127.0.0.1:$port;"$'\n'; done
  cat >"$TMP/lb/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes $w;
worker_rlimit_nofile $LB_NOFILE;
pid $TMP/lb/nginx.pid;
error_log $TMP/lb/error.log warn;
events { worker_connections $((LB_NOFILE - 500)); multi_accept on; }
http {
  access_log off;
  client_body_temp_path $TMP/lb/tmp/body;
  proxy_temp_path $TMP/lb/tmp/proxy;
  fastcgi_temp_path $TMP/lb/tmp/fastcgi;
  uwsgi_temp_path $TMP/lb/tmp/uwsgi;
  scgi_temp_path $TMP/lb/tmp/scgi;
  map \$http_upgrade \$connection_upgrade { default upgrade; '' ''; }
  upstream sev {
    zone sev 1m;
    least_conn;
$ups    keepalive 64;
  }
  server {
    listen 127.0.0.1:$LB_PORT reuseport backlog=4096;
    location / {
      proxy_pass http://sev;
      proxy_http_version 1.1;
      proxy_set_header Upgrade \$http_upgrade;
      proxy_set_header Connection \$connection_upgrade;
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_bind \$remote_addr;
      proxy_read_timeout 75s;
      proxy_send_timeout 75s;
      proxy_connect_timeout 5s;
      proxy_buffering off;
    }
  }
}
EOF
  nginx -p "$TMP/lb" -c "$TMP/lb/nginx.conf" -e "$TMP/lb/error.log" >>"$TMP/lb.log" 2>&1 &
  LB_PID=$!
  wait_http "http://127.0.0.1:$LB_PORT/healthz"
}
stop_lb() {
  kill -QUIT "$LB_PID" 2>/dev/null || true
  wait "$LB_PID" 2>/dev/null || true
  LB_PID=""
}
rss_kb() { awk '/VmRSS/{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
rss_tree_kb() { # pid: the process and its children
  local p t=0
  for p in "$1" $(pgrep -P "$1"); do t=$((t + $(rss_kb "$p"))); done
  echo "$t"
}
# established TCP connections whose local port is PORT (a node's viewers)
conns_on() { ss -Htn state established "( sport = :$1 )" 2>/dev/null | wc -l; }

# CPU seconds (utime + stime) of the given processes and their children.
cpu_tree() { # pid...
  local p total=0
  for p in "$@" $(for q in "$@"; do pgrep -P "$q"; done); do
    [ -r "/proc/$p/stat" ] || continue
    total=$(awk -v t="$total" '{ print t + ($14 + $15) / 100 }' "/proc/$p/stat")
  done
  echo "$total"
}

ratio() { node -e 'const a=+process.argv[1],b=+process.argv[2];console.log(b>0?(a/b).toFixed(2):"n/a")' "$1" "$2"; }
name_of() { case $1 in sev) echo sev ;; ngx) echo "nginx+nchan" ;; uws) echo "uWS.js" ;; esac; }

log "# SEV benchmarks $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(nproc) CPUs ($(uname -r)); nofile=$NOFILE"
DIRTY=$(git status --porcelain -- src 2>/dev/null | grep -q . && echo ", src/ has uncommitted changes" || true)
log "# sev: $SEV_BIN ($(git rev-parse --short HEAD 2>/dev/null || echo '?')$DIRTY); peers: nginx $(nginx -v 2>&1 | sed 's#.*/##') + nchan ($(dpkg-query -W -f='${Version}' libnginx-mod-nchan 2>/dev/null || echo '?')), uWebSockets.js via uws-pack $( [ $HAVE_UWS = 1 ] && node -p 'require("./node_modules/uws-pack/package.json").version' || echo 'missing') on node $(node -v); wrk $(dpkg-query -W -f='${Version}' wrk 2>/dev/null || echo '?')"
log "# servers on: ${SRV_CPU:-any CPU}; load on: ${LOAD_CPU:-any CPU}; load average $(cut -d' ' -f1-3 /proc/loadavg)"
loadavg() { echo "load average $(cut -d' ' -f1-3 /proc/loadavg)"; }

# ---------------------------------------------------------------- fan-out
declare -A R
SIZE=300

# wsload against each server; the RESULT json lands in R[<who>_<key>].
# args: key clients streamers rate events pub-conns drain [extra wsload args]
load_sev() {
  local key=$1 n=$2 k=$3 rate=$4 events=$5 pc=$6 drain=$7; shift 7
  start_sev
  R[sev_$key]=$($LOAD_CPU "$WSLOAD" -u "ws://127.0.0.1:$SEV_PORT/ws" --sub-param streamer --prefix bench \
          -n "$n" -k "$k" -m "$events" -r "$rate" -s "$SIZE" --pub-conns "$pc" --sev-secret "$SECRET" \
          -p "$SEV_PID" --drain "$drain" "$@" | tee -a "$OUT" | grep '^RESULT ' | sed 's/^RESULT //' || true)
  stop_sev
}
load_ngx() { # same args; the message size is sev's
  local key=$1 n=$2 k=$3 rate=$4 events=$5 pc=$6 drain=$7; shift 7
  local msg="" sr=${R[sev_$key]:-}
  [ -z "$sr" ] || msg=$(json "$sr" avg_msg_bytes); [ "${msg:-0}" -ge 64 ] || msg=$SIZE
  start_nginx
  R[ngx_$key]=$($LOAD_CPU "$WSLOAD" -u "ws://127.0.0.1:$NGX_PORT/sub" --sub-param channel --prefix bench \
          --pub-path /pub -n "$n" -k "$k" -m "$events" -r "$rate" -s "$msg" --pub-conns "$pc" \
          -p "$NGX_WORKER" --drain "$drain" "$@" | tee -a "$OUT" | grep '^RESULT ' | sed 's/^RESULT //' || true)
  stop_nginx
}
load_uws() {
  local key=$1 n=$2 k=$3 rate=$4 events=$5 pc=$6 drain=$7; shift 7
  [ $HAVE_UWS = 1 ] || return 0
  local msg="" sr=${R[sev_$key]:-}
  [ -z "$sr" ] || msg=$(json "$sr" avg_msg_bytes); [ "${msg:-0}" -ge 64 ] || msg=$SIZE
  start_uws
  R[uws_$key]=$($LOAD_CPU "$WSLOAD" -u "ws://127.0.0.1:$UWS_PORT/ws" --sub-param streamer --prefix bench \
          --pub-path /pub -n "$n" -k "$k" -m "$events" -r "$rate" -s "$msg" --pub-conns "$pc" \
          -p "$UWS_PID" --drain "$drain" "$@" | tee -a "$OUT" | grep '^RESULT ' | sed 's/^RESULT //' || true)
  stop_uws
}

# The seeds' stack takes the same signed webhooks from the same publisher; it pushes nothing,
# so it runs with no WebSocket clients (wsload -n 0). CPU: php-fpm's pool plus nginx.
declare -A PHP_CPU PHP_ROWS PHP_OPCACHE
load_php() { # key pub-conns events
  local key=$1 pc=$2 events=$3 c0 c1
  [ $HAVE_PHP = 1 ] || return 0
  start_php
  c0=$(cpu_tree "$PHP_PID" "$PHPNGX_PID")
  R[php_$key]=$($LOAD_CPU "$WSLOAD" -u "ws://127.0.0.1:$PHP_PORT/ws" --prefix bench -n 0 -m "$events" -r 0 \
          -s "$SIZE" --pub-conns "$pc" --sev-secret "$SECRET" --drain 0 | tee -a "$OUT" | grep '^RESULT ' | sed 's/^RESULT //' || true)
  c1=$(cpu_tree "$PHP_PID" "$PHPNGX_PID")
  PHP_CPU[$key]=$(node -e 'console.log((+process.argv[2]-+process.argv[1]).toFixed(2))' "$c0" "$c1")
  # the opcode cache must have served the run (one php-fpm child's view; each has the shared cache)
  PHP_OPCACHE[$key]=$(node -e 'fetch(process.argv[1]).then(r=>r.json()).then(j=>console.log(j.enabled?`on (${j.cached_scripts} scripts cached, ${j.hits} hits, ${j.misses} misses)`:"OFF"),()=>console.log("unknown"))' "http://127.0.0.1:$PHP_PORT/opcache")
  log "# Slim 3 peer: opcache ${PHP_OPCACHE[$key]}"
  PHP_ROWS[$key]=$(sqlite3 "$TMP/php/bench.db" 'SELECT count(*) FROM events' 2>/dev/null || echo '?')
  stop_php
}

# nchan carries the same bytes per message as sev delivered (sev's envelope included); so
# does uWS
for run in $FANOUT; do
  IFS=: read -r n rate events <<<"$run"
  log ""
  log "## fan-out: $n clients, $events events at $rate/s"
  load_sev "f$run" "$n" 1 "$rate" "$events" 4 5
  load_ngx "f$run" "$n" 1 "$rate" "$events" 4 5
  load_uws "f$run" "$n" 1 "$rate" "$events" 4 5
done

# ---------------------------------------------------------------- fan-out capacity
# One streamer, N clients; the publish rate rises until p99 passes 250 ms, anything is lost,
# or the publisher falls behind its schedule; the highest step that passed is the server's
# sustained capacity. Each step is a fresh server. The load client is not the limit while its
# CPU use (client_util_pct, its own core) stays well under 100 % and the publisher keeps its
# schedule (pub_backlog_max small): both are printed with each step.
declare -A CAP CAPNOTE
CAP_WHO=${CAP_WHO:-sev ngx uws} # the servers of the capacity run, in this order (sev first)
cap_ok() { # RESULT json -> 0 if the step passed
  node -e 'const r=JSON.parse(process.argv[1]); process.exit(r.lost===0 && r.p99_ms<=250 && r.http_errors===0 && r.pub_backlog_max<=Math.max(5,r.rate/10)?0:1)' "$1"
}
for run in $CAPACITY; do
  IFS=: read -r n rates secs <<<"$run"
  log ""
  log "## fan-out capacity: $n clients on one streamer, publish rate rising ($rates/s), $secs s per step"
  capsize=$SIZE
  for who in $CAP_WHO; do
    [ $who = uws ] && [ $HAVE_UWS = 0 ] && continue
    best=0
    for rate in ${rates//,/ }; do
      events=$((rate * secs))
      # the peers send sev's frame size; past sev's last step, that of its last step (not the
      # publisher's smaller body)
      SIZE=$capsize load_$who "cap$n:$rate" "$n" 1 "$rate" "$events" 8 5 -q
      [ $who = sev ] && [ -n "${R[sev_cap$n:$rate]:-}" ] && capsize=$(json "${R[sev_cap$n:$rate]}" avg_msg_bytes)
      r=${R[${who}_cap$n:$rate]:-}
      [ -n "$r" ] || { log "| capacity | $(name_of $who) | $rate/s | (no result) |"; break; }
      log "| capacity | $(name_of $who) | $rate/s | deliveries/s $(json "$r" msg_per_s) | p99 $(json "$r" p99_ms) ms | lost $(json "$r" lost) | publisher backlog $(json "$r" pub_backlog_max) | client CPU $(json "$r" client_util_pct) % |"
      cap_ok "$r" || break
      best=$(json "$r" msg_per_s)
      CAPNOTE[$who]="at $rate events/s, client CPU $(json "$r" client_util_pct) %"
    done
    CAP[$who]=$best
  done
done

# ---------------------------------------------------------------- many streamers
# 16 publisher connections (all servers): at 1,000 events/s four would cap sev at its
# group-commit latency, which this run is not about
for run in $MANY; do
  IFS=: read -r n k rate events <<<"$run"
  log ""
  log "## many streamers: $n clients over $k streamers ($((n / k)) each), $events events at $rate/s round-robin"
  load_sev "m$run" "$n" "$k" "$rate" "$events" 16 5
  load_ngx "m$run" "$n" "$k" "$rate" "$events" 16 5
  load_uws "m$run" "$n" "$k" "$rate" "$events" 16 5
done

# ---------------------------------------------------------------- ingest
# closed loop: each publisher connection sends its next signed webhook when the previous is
# answered; every event has its own message id and follower (wsload numbers both by seq)
for run in $INGEST; do
  IFS=: read -r pc n events <<<"$run"
  log ""
  log "## ingest: $events signed webhooks, closed loop over $pc keep-alive connections; $n clients on the streamer"
  load_sev "i$run" "$n" 1 0 "$events" "$pc" 10
  # the same publisher against uWS (no signature, no storage): the load generator's ceiling
  load_uws "i$run" "$n" 1 0 "$events" "$pc" 10
  load_php "i$run" "$pc" "$events"
done

# ---------------------------------------------------------------- idle clients
for n in $IDLE; do
  log ""
  log "## idle: $n WebSocket clients that never receive an event"
  load_sev "idle$n" "$n" 1 10 0 4 0 --hold 2
  load_ngx "idle$n" "$n" 1 10 0 4 0 --hold 2
  load_uws "idle$n" "$n" 1 10 0 4 0 --hold 2
done

# ---------------------------------------------------------------- PostgreSQL ingest
# the ingest run again with the store in PostgreSQL (started above, on this box, servers' CPU):
# same publisher, same events; beside the SQLite run of the same spec in this invocation
declare -A PG_CPU PG_ROWS MN_ROWS PG_COMMITS
for run in $PG_INGEST; do
  IFS=: read -r pc n events <<<"$run"
  log ""
  log "## ingest on PostgreSQL: $events signed webhooks, closed loop over $pc keep-alive connections; $n clients (SQLite run of the same spec beside it); $(loadavg)"
  [ -n "${R[sev_i$run]:-}" ] || load_sev "i$run" "$n" 1 0 "$events" "$pc" 10
  if ! start_pg; then log "(PostgreSQL did not start)"; continue; fi
  pg_fresh
  c0=$(pg_cpu)
  BENCH_DB=$PG_URI load_sev "pg$run" "$n" 1 0 "$events" "$pc" 10
  c1=$(pg_cpu)
  PG_CPU[$run]=$(node -e 'console.log((+process.argv[2]-+process.argv[1]).toFixed(2))' "$c0" "$c1")
  PG_ROWS[$run]=$(pg_rows)
  PG_COMMITS[$run]=$(pg_commits)
done

# ---------------------------------------------------------------- many streamers over several nodes
# the many-streamers run with the clients spread over N nodes (client i on node i % N, so every
# streamer has viewers on every node), PostgreSQL store, Redis bus; every event published to
# node 1. Beside it the single-node run (SQLite, local bus) of the same first four fields.
for run in $MANY_NODES; do
  IFS=: read -r n k rate events nodes <<<"$run"
  single="$n:$k:$rate:$events"
  log ""
  log "## many streamers over $nodes nodes: $n clients over $k streamers, $events events at $rate/s, all published to node 1 (PostgreSQL + Redis); $(loadavg)"
  [ -n "${R[sev_m$single]:-}" ] || load_sev "m$single" "$n" "$k" "$rate" "$events" 16 5
  if ! start_nodes "$nodes"; then log "(nodes did not start)"; stop_nodes; continue; fi
  first_pid=$(echo $NODE_PIDS | cut -d' ' -f1)
  R[mn_$run]=$($LOAD_CPU "$WSLOAD" -u "ws://127.0.0.1:${NODE_PORTS%%,*}/ws" --sub-ports "$NODE_PORTS" \
          --sub-param streamer --prefix bench -n "$n" -k "$k" -m "$events" -r "$rate" -s "$SIZE" \
          --pub-conns 16 --sev-secret "$SECRET" -p "$first_pid" --drain 5 | tee -a "$OUT" | grep '^RESULT ' | sed 's/^RESULT //' || true)
  MN_ROWS[$run]=$(pg_rows)
  stop_nodes
done

# ---------------------------------------------------------------- many idle viewers behind nginx
# M idle viewers through nginx over N nodes (PostgreSQL + Redis); wsload spreads its source
# addresses over 127.0.0.x (--src-ips, automatic). Figures are sampled while wsload holds the
# connections open: RSS growth per viewer of each node (its own viewer count from ss) and of
# nginx (master + workers, per proxied viewer), the most open files of any nginx worker.
declare -A SC
for run in $SCALE_IDLE; do
  IFS=: read -r n nodes w <<<"$run"
  log ""
  log "## idle viewers behind nginx: $n over $nodes nodes, nginx with $w workers (at most $LB_NOFILE open files each); $(loadavg)"
  if [ $(( (n + w - 1) / w * 2 + 500 )) -gt "$LB_NOFILE" ]; then
    log "(warning: $n viewers over $w workers is more than $(( (LB_NOFILE - 500) / 2 )) per worker if spread evenly)"
  fi
  if ! start_nodes "$nodes" SEV_MAX_CONNECTIONS=$((NOFILE - 500)); then log "(nodes did not start)"; stop_nodes; continue; fi
  start_lb "$w"
  declare -A base=()
  for p in $NODE_PIDS; do base[$p]=$(rss_kb "$p"); done
  lb0=$(rss_tree_kb "$LB_PID")
  : >"$TMP/scale.out"
  $LOAD_CPU stdbuf -oL "$WSLOAD" -u "ws://127.0.0.1:$LB_PORT/ws" --sub-param streamer --prefix bench -n "$n" -k 1000 \
    -m 0 -r 10 --drain 0 --settle 0 --hold "${SCALE_HOLD:-20}" --ramp-timeout "${SCALE_RAMP:-600}" >"$TMP/scale.out" 2>&1 &
  wl=$!
  while kill -0 "$wl" 2>/dev/null && ! grep -q '^ramp:' "$TMP/scale.out"; do sleep 1; done
  sleep 3
  i=0 per="" tot_rss=0 tot_conns=0 maxfd=0
  for p in $NODE_PIDS; do
    i=$((i + 1)); port=$(echo "$NODE_PORTS" | cut -d, -f$i)
    c=$(conns_on "$port"); r=$(rss_kb "$p")
    per="$per node$i: $c viewers, RSS $((r - base[$p])) kB more, $(node -e 'const [d,c]=process.argv.slice(1).map(Number);console.log(c>0?(d*1024/c).toFixed(0):"n/a")' "$((r - base[$p]))" "$c") B/viewer;"
    tot_rss=$((tot_rss + r - base[$p])) tot_conns=$((tot_conns + c))
  done
  lb1=$(rss_tree_kb "$LB_PID")
  for p in $(pgrep -P "$LB_PID"); do f=$(ls "/proc/$p/fd" 2>/dev/null | wc -l); [ "$f" -gt "$maxfd" ] && maxfd=$f; done
  wait "$wl" || true
  cat "$TMP/scale.out" >>"$OUT"
  r=$(grep '^RESULT ' "$TMP/scale.out" | sed 's/^RESULT //' || true)
  SC[$run]="$r"
  SC[${run}_nodes]=$per
  SC[${run}_line]="| $n | $nodes | $w | $( [ -n "$r" ] && json "$r" established || echo '?') | $( [ -n "$r" ] && json "$r" failed || echo '?') | $( [ -n "$r" ] && json "$r" ramp_s || echo '?') | $tot_conns | $(node -e 'const [d,c]=process.argv.slice(1).map(Number);console.log(c>0?(d*1024/c).toFixed(0):"n/a")' "$tot_rss" "$tot_conns") | $(( (lb1 - lb0) / 1024 )) | $(node -e 'const [d,c]=process.argv.slice(1).map(Number);console.log(c>0?(d*1024/c).toFixed(0):"n/a")' "$((lb1 - lb0))" "$tot_conns") | $maxfd | $(grep -c 'alert\|crit\|emerg\|\[error\]' "$TMP/lb/error.log" 2>/dev/null || true) |"
  log "nodes:$per"
  log "nginx: RSS $lb0 -> $lb1 kB, most open files in a worker $maxfd; error.log: $(grep -m3 'alert\|crit\|emerg\|\[error\]' "$TMP/lb/error.log" 2>/dev/null | sed 's/.*\] //' | tr '\n' ' ' || true)"
  stop_lb
  stop_nodes
done

# ---------------------------------------------------------------- http
if [ "$HTTP_SECS" != 0 ]; then # HTTP_SECS=0: skip
log ""
log "## http: wrk -t$WRK_THREADS -c$HTTP_CONNS -d${HTTP_SECS}s"
start_sev
# a fresh database: ten events for the events route to answer with
"$WSLOAD" -u "ws://127.0.0.1:$SEV_PORT/ws" --sub-param streamer --prefix bench -n 1 -m 20 -r 100 \
  --sev-secret "$SECRET" -q >/dev/null
HEALTH_URL=http://127.0.0.1:$SEV_PORT/healthz
EVENTS_URL=http://127.0.0.1:$SEV_PORT/api/streamers/$STREAMER/events?limit=10
node -e 'fetch(process.argv[1]).then(r=>r.arrayBuffer()).then(b=>require("fs").writeFileSync(process.argv[2],Buffer.from(b)))' "$HEALTH_URL" "$TMP/healthz.body"
node -e 'fetch(process.argv[1]).then(r=>r.arrayBuffer()).then(b=>require("fs").writeFileSync(process.argv[2],Buffer.from(b)))' "$EVENTS_URL" "$TMP/events.body"
# the cold path: the page before the newest ten, which the hub does not keep as a page, so the
# store answers every request (a reader scrolling back)
BEFORE=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).events.at(-1).id)' "$TMP/events.body")
COLD_URL="http://127.0.0.1:$SEV_PORT/api/streamers/$STREAMER/events?limit=10&before=$BEFORE"
node -e 'fetch(process.argv[1]).then(r=>r.arrayBuffer()).then(b=>require("fs").writeFileSync(process.argv[2],Buffer.from(b)))' "$COLD_URL" "$TMP/cold.body"
HB=$(stat -c %s "$TMP/healthz.body") EB=$(stat -c %s "$TMP/events.body") CB=$(stat -c %s "$TMP/cold.body")
log "# response bodies: /healthz $HB bytes, /events?limit=10 $EB bytes (nginx serves files of these sizes)"

wrk_run() { # name url -> "rps p50_ms p99_ms"
  local out
  out=$($LOAD_CPU wrk -t"$WRK_THREADS" -c"$HTTP_CONNS" -d"${HTTP_SECS}s" --latency "$2" 2>&1)
  printf '%s\n' "### $1" "$out" >>"$OUT"
  node -e '
    const t=process.argv[1];
    const ms=(s)=>{const m=/([\d.]+)(us|ms|s)/.exec(s); if(!m) return NaN; return +m[1]*({us:0.001,ms:1,s:1000})[m[2]];};
    const rps=(/Requests\/sec:\s*([\d.]+)/.exec(t)||[])[1];
    const p50=(/\s50%\s+(\S+)/.exec(t)||[])[1], p99=(/\s99%\s+(\S+)/.exec(t)||[])[1];
    const errs=(/Non-2xx or 3xx responses:\s*(\d+)/.exec(t)||[,0])[1];
    console.log([(+rps).toFixed(0), ms(p50).toFixed(3), ms(p99).toFixed(3), errs].join(" "));' "$out"
}
read -r R_sev_h R_sev_h50 R_sev_h99 R_sev_herr < <(wrk_run "sev /healthz" "$HEALTH_URL")
read -r R_sev_e R_sev_e50 R_sev_e99 R_sev_eerr < <(wrk_run "sev /api/streamers/$STREAMER/events?limit=10" "$EVENTS_URL")
read -r R_sev_c R_sev_c50 R_sev_c99 R_sev_cerr < <(wrk_run "sev /api/streamers/$STREAMER/events?limit=10&before=… (store)" "$COLD_URL")
SEV_RSS=$(awk '/VmRSS/{print $2}' /proc/$SEV_PID/status)
stop_sev

start_nginx
cp "$TMP/healthz.body" "$TMP/ngx/www/healthz.json"
cp "$TMP/events.body" "$TMP/ngx/www/events.json"
cp "$TMP/cold.body" "$TMP/ngx/www/cold.json"
read -r R_ngx_h R_ngx_h50 R_ngx_h99 R_ngx_herr < <(wrk_run "nginx /healthz.json" "http://127.0.0.1:$NGX_PORT/healthz.json")
read -r R_ngx_e R_ngx_e50 R_ngx_e99 R_ngx_eerr < <(wrk_run "nginx /events.json" "http://127.0.0.1:$NGX_PORT/events.json")
read -r R_ngx_c R_ngx_c50 R_ngx_c99 R_ngx_cerr < <(wrk_run "nginx /cold.json" "http://127.0.0.1:$NGX_PORT/cold.json")
stop_nginx
fi

# ---------------------------------------------------------------- summary
log ""
log "## summary (ratios are sev / peer: nginx+nchan, uWS.js, or nginx for http; for latency, memory and CPU lower is better for sev, for rates higher)"
log ""
log "| run | server | clients | streamers | events/s | events | delivered | lost | deliveries/s | p50 ms | p99 ms | max ms | RSS/client B | server CPU µs/delivery |"
log "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
row() { # key label clients streamers rate
  local key=$1 label=$2 n=$3 k=$4 rate=$5 who r s p
  for who in sev ngx uws; do
    r=${R[${who}_$key]:-}
    if [ -z "$r" ]; then
      [ $who = uws ] && [ $HAVE_UWS = 0 ] && continue
      log "| $label | $(name_of $who) | $n | $k | $rate | (no result) |"; continue
    fi
    log "| $label | $(name_of $who) | $n | $k | $rate | $(json "$r" sent) | $(json "$r" received) | $(json "$r" lost) | $(json "$r" msg_per_s) | $(json "$r" p50_ms) | $(json "$r" p99_ms) | $(json "$r" max_ms) | $(json "$r" bytes_per_conn) | $(node -e "console.log((+process.argv[1]/1000).toFixed(1))" "$(json "$r" server_ns_per_msg)") |"
  done
  s=${R[sev_$key]:-}
  for who in ngx uws; do
    p=${R[${who}_$key]:-}
    if [ -n "$s" ] && [ -n "$p" ]; then
      log "| $label | *sev / $(name_of $who)* | | | | | | | $(ratio "$(json "$s" msg_per_s)" "$(json "$p" msg_per_s)") | $(ratio "$(json "$s" p50_ms)" "$(json "$p" p50_ms)") | $(ratio "$(json "$s" p99_ms)" "$(json "$p" p99_ms)") | $(ratio "$(json "$s" max_ms)" "$(json "$p" max_ms)") | $(ratio "$(json "$s" bytes_per_conn)" "$(json "$p" bytes_per_conn)") | $(ratio "$(json "$s" server_ns_per_msg)" "$(json "$p" server_ns_per_msg)") |"
    fi
  done
}
for run in $FANOUT; do
  IFS=: read -r n rate events <<<"$run"
  row "f$run" fan-out "$n" 1 "$rate"
done
for run in $MANY; do
  IFS=: read -r n k rate events <<<"$run"
  row "m$run" many "$n" "$k" "$rate"
done
if [ -n "$INGEST" ]; then
  log ""
  log "| ingest | server | publishers | clients | events | accepted (2xx) | errors | accepted events/s | delivered events/s | lost | publish p50 ms | publish p99 ms | delivery p99 ms | server CPU % | server CPU µs/event |"
  log "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for run in $INGEST; do
    IFS=: read -r pc n events <<<"$run"
    for who in sev uws; do
      r=${R[${who}_i$run]:-}
      [ -n "$r" ] || { [ $who = uws ] && [ $HAVE_UWS = 0 ] || log "| ingest | $(name_of $who) | $pc | $n | $events | (no result) |"; continue; }
      log "| ingest | $(name_of $who) | $pc | $n | $(json "$r" sent) | $(json "$r" pub_ok) | $(json "$r" http_errors) | $(json "$r" pub_per_s) | $(node -e 'const [rc,n,d]=process.argv.slice(1).map(Number);console.log(d>0?(rc/n/d).toFixed(0):"n/a")' "$(json "$r" received)" "$n" "$(json "$r" deliver_s)") | $(json "$r" lost) | $(json "$r" http_p50_ms) | $(json "$r" http_p99_ms) | $(json "$r" p99_ms) | $(json "$r" server_util_pct) | $(node -e 'const [c,e]=process.argv.slice(1).map(Number);console.log(e>0?(c*1e6/e).toFixed(1):"n/a")' "$(json "$r" server_cpu_s)" "$(json "$r" sent)") |"
    done
    r=${R[php_i$run]:-}
    if [ -n "$r" ]; then
      log "| ingest | Slim 3 + php-fpm ($PHP_CHILDREN, opcache ${PHP_OPCACHE[i$run]%% (*}) + SQLite | $pc | 0 | $(json "$r" sent) | $(json "$r" pub_ok) (rows stored: ${PHP_ROWS[i$run]}) | $(json "$r" http_errors) | $(json "$r" pub_per_s) | (stores only) | | $(json "$r" http_p50_ms) | $(json "$r" http_p99_ms) | | | $(node -e 'const [c,e]=process.argv.slice(1).map(Number);console.log(e>0?(c*1e6/e).toFixed(1):"n/a")' "${PHP_CPU[i$run]}" "$(json "$r" sent)") |"
    elif [ $HAVE_PHP = 1 ]; then
      log "| ingest | Slim 3 + php-fpm | $pc | 0 | $events | (no result) |"
    fi
    s=${R[sev_i$run]:-}
    for who in uws php; do
      p=${R[${who}_i$run]:-}
      # delivered: events that reached every client over the delivery window (Slim 3 pushes
      # nothing: its stored events/s stand for it)
      [ -n "$s" ] && [ -n "$p" ] && log "| ingest | *sev / $( [ $who = uws ] && echo uWS.js || echo 'Slim 3')* | | | | | | $(ratio "$(json "$s" pub_per_s)" "$(json "$p" pub_per_s)") | $(ratio "$(node -e 'const [rc,n,d]=process.argv.slice(1).map(Number);console.log(d>0?rc/n/d:0)' "$(json "$s" received)" "$n" "$(json "$s" deliver_s)")" "$( [ $who = uws ] && node -e 'const [rc,n,d]=process.argv.slice(1).map(Number);console.log(d>0?rc/n/d:0)' "$(json "$p" received)" "$n" "$(json "$p" deliver_s)" || json "$p" pub_per_s)") | | | | | | |"
    done
  done
fi
if [ -n "$CAPACITY" ]; then
  log ""
  log "| capacity | server | highest sustained deliveries/s (p99 ≤ 250 ms, nothing lost) | where |"
  log "|---|---|---:|---|"
  for who in sev ngx uws; do
    [ -n "${CAP[$who]:-}" ] && log "| capacity | $(name_of $who) | ${CAP[$who]} | ${CAPNOTE[$who]:-first step failed} |"
  done
  for who in ngx uws; do
    [ -n "${CAP[$who]:-}" ] && [ -n "${CAP[sev]:-}" ] && log "| capacity | *sev / $(name_of $who)* | $(ratio "${CAP[sev]}" "${CAP[$who]}") | |"
  done
fi
if [ -n "$IDLE" ]; then
  log ""
  log "| idle | server | clients | established | RSS before kB | RSS after kB | RSS after hold kB | RSS/client B | ramp s |"
  log "|---|---|---:|---:|---:|---:|---:|---:|---:|"
  for n in $IDLE; do
    for who in sev ngx uws; do
      r=${R[${who}_idle$n]:-}
      [ -n "$r" ] || { [ $who = uws ] && [ $HAVE_UWS = 0 ] || log "| idle | $(name_of $who) | $n | (no result) |"; continue; }
      log "| idle | $(name_of $who) | $n | $(json "$r" established) | $(json "$r" rss_before_kb) | $(json "$r" rss_after_kb) | $(json "$r" rss_end_kb) | $(json "$r" bytes_per_conn) | $(json "$r" ramp_s) |"
    done
    s=${R[sev_idle$n]:-}
    for who in ngx uws; do
      p=${R[${who}_idle$n]:-}
      [ -n "$s" ] && [ -n "$p" ] && log "| idle | *sev / $(name_of $who)* | | | | | | $(ratio "$(json "$s" bytes_per_conn)" "$(json "$p" bytes_per_conn)") | |"
    done
  done
fi
if [ -n "$PG_INGEST" ]; then
  log ""
  log "| ingest store | publishers | clients | events | accepted (2xx) | errors | rows stored (commits) | accepted events/s | delivered events/s | lost | publish p99 ms | delivery p99 ms | sev CPU µs/event | PostgreSQL CPU µs/event |"
  log "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for run in $PG_INGEST; do
    IFS=: read -r pc n events <<<"$run"
    for who in i pg; do
      r=${R[sev_$who$run]:-}
      lbl=$( [ $who = i ] && echo "sev, SQLite" || echo "sev, PostgreSQL")
      [ -n "$r" ] || { log "| $lbl | $pc | $n | $events | (no result) |"; continue; }
      log "| $lbl | $pc | $n | $(json "$r" sent) | $(json "$r" pub_ok) | $(json "$r" http_errors) | $( [ $who = pg ] && echo "${PG_ROWS[$run]} (${PG_COMMITS[$run]})" || echo '') | $(json "$r" pub_per_s) | $(node -e 'const [rc,n,d]=process.argv.slice(1).map(Number);console.log(d>0?(rc/n/d).toFixed(0):"n/a")' "$(json "$r" received)" "$n" "$(json "$r" deliver_s)") | $(json "$r" lost) | $(json "$r" http_p99_ms) | $(json "$r" p99_ms) | $(node -e 'const [c,e]=process.argv.slice(1).map(Number);console.log(e>0?(c*1e6/e).toFixed(1):"n/a")' "$(json "$r" server_cpu_s)" "$(json "$r" sent)") | $( [ $who = pg ] && node -e 'const [c,e]=process.argv.slice(1).map(Number);console.log(e>0?(c*1e6/e).toFixed(1):"n/a")' "${PG_CPU[$run]}" "$(json "$r" sent)" || echo '') |"
    done
    s=${R[sev_i$run]:-} p=${R[sev_pg$run]:-}
    [ -n "$s" ] && [ -n "$p" ] && log "| *PostgreSQL / SQLite* | | | | | | | $(ratio "$(json "$p" pub_per_s)" "$(json "$s" pub_per_s)") | | | $(ratio "$(json "$p" http_p99_ms)" "$(json "$s" http_p99_ms)") | $(ratio "$(json "$p" p99_ms)" "$(json "$s" p99_ms)") | | |"
  done
fi
if [ -n "$MANY_NODES" ]; then
  log ""
  log "| many streamers | nodes | store, bus | clients | streamers | events/s | events | delivered | lost | deliveries/s | p50 ms | p99 ms | max ms | CPU µs/delivery (node 1 only) | publisher backlog max |"
  log "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for run in $MANY_NODES; do
    IFS=: read -r n k rate events nodes <<<"$run"
    for key in "sev_m$n:$k:$rate:$events" "mn_$run"; do
      r=${R[$key]:-}
      if [ "$key" = "mn_$run" ]; then lbl="| many | $nodes | PostgreSQL, Redis"; else lbl="| many | 1 | SQLite, local"; fi
      [ -n "$r" ] || { log "$lbl | $n | $k | $rate | $events | (no result) |"; continue; }
      log "$lbl | $n | $k | $rate | $(json "$r" sent) | $(json "$r" received) | $(json "$r" lost) | $(json "$r" msg_per_s) | $(json "$r" p50_ms) | $(json "$r" p99_ms) | $(json "$r" max_ms) | $(node -e "console.log((+process.argv[1]/1000).toFixed(1))" "$(json "$r" server_ns_per_msg)") | $(json "$r" pub_backlog_max) |"
    done
    s=${R[sev_m$n:$k:$rate:$events]:-} p=${R[mn_$run]:-}
    [ -n "$s" ] && [ -n "$p" ] && log "| many | *$nodes nodes / 1* | | | | | | | | $(ratio "$(json "$p" msg_per_s)" "$(json "$s" msg_per_s)") | $(ratio "$(json "$p" p50_ms)" "$(json "$s" p50_ms)") | $(ratio "$(json "$p" p99_ms)" "$(json "$s" p99_ms)") | $(ratio "$(json "$p" max_ms)" "$(json "$s" max_ms)") | |"
  done
fi
if [ -n "$SCALE_IDLE" ]; then
  log ""
  log "| idle behind nginx: viewers | nodes | nginx workers | established | failed | ramp s | on the nodes (ss) | node RSS/viewer B | nginx RSS growth MB | nginx RSS/viewer B | most fds in an nginx worker | nginx errors |"
  log "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for run in $SCALE_IDLE; do log "${SC[${run}_line]:-| $run | (no result) |}"; done
  for run in $SCALE_IDLE; do log "# $run per node:${SC[${run}_nodes]:-}"; done
fi
if [ "$HTTP_SECS" != 0 ]; then
log ""
log "| http | requests/s | p50 ms | p99 ms | non-2xx |"
log "|---|---:|---:|---:|---:|"
log "| sev GET /healthz ($HB B) | $R_sev_h | $R_sev_h50 | $R_sev_h99 | $R_sev_herr |"
log "| nginx static, same size | $R_ngx_h | $R_ngx_h50 | $R_ngx_h99 | $R_ngx_herr |"
log "| ratio | $(ratio "$R_sev_h" "$R_ngx_h") | $(ratio "$R_sev_h50" "$R_ngx_h50") | $(ratio "$R_sev_h99" "$R_ngx_h99") | |"
log "| sev GET /api/streamers/$STREAMER/events?limit=10 ($EB B) | $R_sev_e | $R_sev_e50 | $R_sev_e99 | $R_sev_eerr |"
log "| nginx static, same size | $R_ngx_e | $R_ngx_e50 | $R_ngx_e99 | $R_ngx_eerr |"
log "| ratio | $(ratio "$R_sev_e" "$R_ngx_e") | $(ratio "$R_sev_e50" "$R_ngx_e50") | $(ratio "$R_sev_e99" "$R_ngx_e99") | |"
log "| sev GET …/events?limit=10&before=… cold, from the store ($CB B) | $R_sev_c | $R_sev_c50 | $R_sev_c99 | $R_sev_cerr |"
log "| nginx static, same size | $R_ngx_c | $R_ngx_c50 | $R_ngx_c99 | $R_ngx_cerr |"
log "| ratio | $(ratio "$R_sev_c" "$R_ngx_c") | $(ratio "$R_sev_c50" "$R_ngx_c50") | $(ratio "$R_sev_c99" "$R_ngx_c99") | |"
fi
log ""
log "# sev RSS after the http runs: ${SEV_RSS:-?} kB. Full output: $OUT"
