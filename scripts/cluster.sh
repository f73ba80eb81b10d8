#!/usr/bin/env bash
# make cluster: SEV as several nodes on this machine, the way it runs on many:
#   PostgreSQL (data in var/cluster/pg, kept between runs), Redis, N sev nodes and nginx as the
#   load balancer on :8080 (least_conn, WebSocket upgrades), plus the demo Twitch simulator when
#   no TWITCH_CLIENT_ID is set (as `make run` does). Everything is a child: Ctrl-C stops all.
#
# Environment: N (nodes, default 3), LB_PORT (8080), NODE_BASE_PORT (nodes listen on
# 127.0.0.1:NODE_BASE_PORT+1…, default 8180), PG_PORT (5433), REDIS_PORT (6380), SIM_PORT
# (9090), B (build directory). initdb refuses root, so as root PostgreSQL runs as `postgres`.
#
# Timeouts that must agree behind a load balancer (docs/scaling.md): nginx's proxy_read_timeout
# (here 75 s) must exceed SEV's WebSocket ping interval (30 s), or idle viewers are cut.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/demo-env.sh
root=$(pwd)
bin=${B:-build}
n=${N:-3}
lb_port=${LB_PORT:-8080}
base=${NODE_BASE_PORT:-8180}
pg_port=${PG_PORT:-5433}
redis_port=${REDIS_PORT:-6380}
dir=$root/var/cluster
mkdir -p "$dir"

say() { echo "cluster: $*" >&2; }
die() { say "$*"; exit 2; }

case $n in ''|*[!0-9]*) die "N must be a number of nodes (1 to 32), not '$n'" ;; esac
[ "$n" -ge 1 ] && [ "$n" -le 32 ] || die "N must be 1 to 32"
pgbin=$(pg_config --bindir 2>/dev/null || true)
[ -x "$pgbin/initdb" ] || pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$pgbin/postgres" ] || die "PostgreSQL server binaries not found (scripts/deps.sh installs them)"
command -v redis-server >/dev/null || die "redis-server not found (scripts/deps.sh installs it)"
command -v nginx >/dev/null || die "nginx not found (scripts/deps.sh installs it)"
for p in "$lb_port" "$pg_port" "$redis_port"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then die "something already listens on port $p"; fi
done

pids=()
cleanup() {
  trap - INT TERM EXIT
  # the nodes first (they drain and close their sessions), then the rest
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  say "stopped"
}
trap cleanup INT TERM EXIT

as_pg=()
if [ "$(id -u)" = 0 ]; then as_pg=(runuser -u postgres --); fi

# ---- PostgreSQL ----
pgdata=$dir/pg
pgsock=$dir/pg-sock
mkdir -p "$pgsock"
if [ ! -s "$pgdata/PG_VERSION" ]; then
  say "initdb into $pgdata (first run)"
  mkdir -p "$pgdata"
  [ ${#as_pg[@]} -eq 0 ] || chown postgres "$pgdata"
  "${as_pg[@]}" "$pgbin/initdb" -D "$pgdata" -U postgres -A trust -E UTF8 >"$dir/initdb.log" 2>&1 \
    || die "initdb failed: see $dir/initdb.log"
fi
[ ${#as_pg[@]} -eq 0 ] || chown postgres "$pgsock"
"${as_pg[@]}" "$pgbin/postgres" -D "$pgdata" -p "$pg_port" -k "$pgsock" \
  -c listen_addresses=127.0.0.1 -c max_connections=200 >"$dir/postgres.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$pg_port" && break
  sleep 0.1
done
"$pgbin/pg_isready" -q -h 127.0.0.1 -p "$pg_port" || die "PostgreSQL did not start: see $dir/postgres.log"
if ! "$pgbin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname='sev'" | grep -q 1; then
  "$pgbin/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres sev
fi
export SEV_DATABASE="postgresql://postgres@127.0.0.1:${pg_port}/sev"

# ---- Redis (pub/sub only: nothing to keep) ----
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
  --logfile "$dir/redis.log" &
pids+=($!)
for _ in $(seq 1 50); do
  [ "$(redis-cli -p "$redis_port" ping 2>/dev/null)" = PONG ] && break
  sleep 0.1
done
export SEV_BUS="redis://127.0.0.1:${redis_port}"

# ---- what every node shares ----
export SEV_PUBLIC_URL=${SEV_PUBLIC_URL:-http://localhost:${lb_port}}
export SEV_KEY_FILE=${SEV_KEY_FILE:-$dir/sev.key}
if [ ! -s "$SEV_KEY_FILE" ]; then # one key for all: made here, not raced for by the nodes
  (umask 077; head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$SEV_KEY_FILE"; echo >> "$SEV_KEY_FILE")
fi
export SEV_MAX_CONNECTIONS_PER_ADDRESS=0 # behind nginx every viewer comes from one address
demo_start_sim cluster || exit 2
# the webhook secret must be the same on every node: made once, kept beside the key
if [ -z "${TWITCH_EVENTSUB_SECRET:-}" ]; then
  [ -s "$dir/eventsub.secret" ] || head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$dir/eventsub.secret"
  TWITCH_EVENTSUB_SECRET=$(cat "$dir/eventsub.secret")
  export TWITCH_EVENTSUB_SECRET
fi

# ---- the nodes ----
upstreams=""
for i in $(seq 1 "$n"); do
  port=$((base + i))
  upstreams+="        server 127.0.0.1:${port} max_fails=1 fail_timeout=2s;"$'\n'
  SEV_LISTEN="127.0.0.1:${port}" SEV_NODE_ID="node${i}" "$bin/sev" > "$dir/node${i}.log" 2>&1 &
  pids+=($!)
done
for i in $(seq 1 "$n"); do
  port=$((base + i))
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "http://127.0.0.1:${port}/healthz" 2>/dev/null && break
    sleep 0.1
  done
  curl -fsS "http://127.0.0.1:${port}/healthz" >/dev/null 2>&1 || die "node${i} did not become healthy: see $dir/node${i}.log"
done

# ---- nginx ----
mkdir -p "$dir/nginx/logs" "$dir/nginx/tmp"
cat > "$dir/nginx/nginx.conf" <<CONF
# written by scripts/cluster.sh on each run
worker_processes 1;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/logs/error.log warn;
events { worker_connections 16384; }
http {
    access_log off;
    client_body_temp_path $dir/nginx/tmp/body;
    proxy_temp_path $dir/nginx/tmp/proxy;
    fastcgi_temp_path $dir/nginx/tmp/fastcgi;
    uwsgi_temp_path $dir/nginx/tmp/uwsgi;
    scgi_temp_path $dir/nginx/tmp/scgi;
    map \$http_upgrade \$connection_upgrade { default upgrade; '' ''; }
    upstream sev {
        least_conn;
${upstreams}        keepalive 64;
    }
    # a login's state lives on the node that began it (/auth/login → /auth/callback): the
    # same client address goes to the same node for /auth/
    upstream sev_auth {
        ip_hash;
${upstreams}    }
    server {
        listen 127.0.0.1:${lb_port};
        client_max_body_size 1m;
        location /auth/ {
            proxy_pass http://sev_auth;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto \$scheme;
        }
        location / {
            proxy_pass http://sev;
            proxy_http_version 1.1;
            proxy_set_header Upgrade \$http_upgrade;
            proxy_set_header Connection \$connection_upgrade;
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto \$scheme;
            # must exceed SEV's WebSocket ping interval (30 s): idle viewers stay connected
            proxy_read_timeout 75s;
            proxy_send_timeout 75s;
            proxy_connect_timeout 2s;
            proxy_next_upstream error timeout http_503;
            proxy_buffering off;
        }
    }
}
CONF
nginx -p "$dir/nginx" -c "$dir/nginx/nginx.conf" -g 'daemon off;' &
pids+=($!)
for _ in $(seq 1 50); do
  curl -fsS -o /dev/null "http://127.0.0.1:${lb_port}/healthz" 2>/dev/null && break
  sleep 0.1
done
say "$n nodes behind nginx: open $SEV_PUBLIC_URL (logs in $dir). Ctrl-C stops everything."
wait -n "${pids[@]}"
say "a process ended; stopping the rest"
