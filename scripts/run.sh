#!/usr/bin/env bash
# make run: starts SEV. With no TWITCH_CLIENT_ID in the environment it runs the demo: the
# bundled Twitch simulator (build/twitch-sim --demo) beside sev, and sev pointed at it.
# Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p var

pids=()
cleanup() {
  trap - INT TERM EXIT
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

if [ -z "${TWITCH_CLIENT_ID:-}" ]; then
  sim_port=${SIM_PORT:-9090}
  sim="http://127.0.0.1:${sim_port}"
  export TWITCH_CLIENT_ID=sev-demo-client
  export TWITCH_CLIENT_SECRET=sev-demo-secret
  export TWITCH_AUTH_URL="$sim/oauth2"
  export TWITCH_API_URL="$sim/helix"
  export TWITCH_EVENTSUB_WS_URL="ws://127.0.0.1:${sim_port}/ws"
  export TWITCH_PLAYER_URL="$sim/embed/player"
  export TWITCH_CHAT_URL="$sim/embed/"
  export SEV_DEMO=1
  export SEV_DATABASE=${SEV_DATABASE:-sqlite:var/demo.db}
  echo "run: demo mode: starting the Twitch simulator on $sim" >&2
  build/twitch-sim --listen "127.0.0.1:${sim_port}" --client-id "$TWITCH_CLIENT_ID" \
    --client-secret "$TWITCH_CLIENT_SECRET" --demo &
  pids+=($!)
  for _ in $(seq 1 100); do
    curl -fsS "$sim/sim/deliveries" >/dev/null 2>&1 && break
    sleep 0.1
  done
fi

build/sev "$@" &
pids+=($!)
wait -n "${pids[@]}"
