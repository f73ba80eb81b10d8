#!/usr/bin/env bash
# make run: starts SEV. With no TWITCH_CLIENT_ID in the environment it runs the demo: the
# bundled Twitch simulator (twitch-sim --demo) beside sev, and sev pointed at it. Logging in
# approves at once as the demo viewer (SEV_DEMO_USER, default demo_viewer), who follows three
# live demo streamers: one click on "Make favorite" and their events start arriving.
# Ctrl-C stops everything it started.
#
# Environment: B (build directory, default build), SIM_PORT (default 9090), SEV_LISTEN,
# SEV_PUBLIC_URL (default http://localhost:PORT for the port of SEV_LISTEN), SEV_DATABASE
# (demo default sqlite:var/demo.db), SEV_DEMO_USER. Anything else is passed to sev as usual.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${B:-build}
mkdir -p var

pids=()
cleanup() {
  trap - INT TERM EXIT
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

export SEV_LISTEN=${SEV_LISTEN:-127.0.0.1:8080}
export SEV_PUBLIC_URL=${SEV_PUBLIC_URL:-http://localhost:${SEV_LISTEN##*:}}

if [ -z "${TWITCH_CLIENT_ID:-}" ]; then
  sim_port=${SIM_PORT:-9090}
  sim="http://127.0.0.1:${sim_port}"
  if curl -fsS -o /dev/null "$sim/sim/deliveries" 2>/dev/null; then
    echo "run: something already answers on $sim; set SIM_PORT to a free port" >&2
    exit 2
  fi
  export TWITCH_CLIENT_ID=sev-demo-client
  export TWITCH_CLIENT_SECRET=sev-demo-secret
  export TWITCH_AUTH_URL="$sim/oauth2"
  export TWITCH_API_URL="$sim/helix"
  export TWITCH_EVENTSUB_WS_URL="ws://127.0.0.1:${sim_port}/ws"
  export TWITCH_PLAYER_URL="$sim/embed/player"
  export TWITCH_CHAT_URL="$sim/embed/"
  export SEV_DEMO=1
  # a known webhook secret, so an event can be posted by hand (scripts/webhook-post.sh)
  export TWITCH_EVENTSUB_SECRET=${TWITCH_EVENTSUB_SECRET:-sev-demo-webhook-secret}
  export SEV_DATABASE=${SEV_DATABASE:-sqlite:var/demo.db}
  echo "run: demo mode: starting the Twitch simulator on $sim" >&2
  "$bin/twitch-sim" --listen "127.0.0.1:${sim_port}" --client-id "$TWITCH_CLIENT_ID" \
    --client-secret "$TWITCH_CLIENT_SECRET" --auto-approve "${SEV_DEMO_USER:-demo_viewer}" \
    --log-level warn --demo &
  sim_pid=$!
  pids+=("$sim_pid")
  for _ in $(seq 1 150); do
    kill -0 "$sim_pid" 2>/dev/null || { echo "run: the Twitch simulator did not start" >&2; exit 1; }
    curl -fsS -o /dev/null "$sim/sim/deliveries" 2>/dev/null && break
    sleep 0.1
  done
  echo "run: open $SEV_PUBLIC_URL — log in (you are ${SEV_DEMO_USER:-demo_viewer}), make a live channel your favorite and watch its events" >&2
fi

"$bin/sev" "$@" &
pids+=($!)
wait -n "${pids[@]}"
