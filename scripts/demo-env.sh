# demo-env.sh: the demo's Twitch side, kept once for scripts/run.sh and scripts/cluster.sh
# (sourced, not run).
#
# demo_start_sim NAME: with no TWITCH_CLIENT_ID in the environment, exports what points sev at
# the bundled Twitch simulator (client id and secret, the OAuth, Helix, EventSub WebSocket,
# player and chat URLs, SEV_DEMO=1, a known webhook secret unless TWITCH_EVENTSUB_SECRET is
# set, so an event can be posted by hand with scripts/webhook-post.sh) and starts the
# simulator (twitch-sim --demo on SIM_PORT, default 9090; logging in approves at once as
# SEV_DEMO_USER, default demo_viewer) in the background, its pid appended to the caller's
# `pids` array, then waits until it answers. Uses the caller's $bin (build directory).
# Returns 0 (also when TWITCH_CLIENT_ID is set: nothing to do), 2 when something already
# answers on the port, 1 when the simulator does not start; NAME prefixes its messages.
demo_start_sim() {
  local who=$1
  [ -z "${TWITCH_CLIENT_ID:-}" ] || return 0
  local sim_port=${SIM_PORT:-9090}
  local sim="http://127.0.0.1:${sim_port}"
  if curl -fsS -o /dev/null "$sim/sim/deliveries" 2>/dev/null; then
    echo "$who: something already answers on $sim; set SIM_PORT to a free port" >&2
    return 2
  fi
  export TWITCH_CLIENT_ID=sev-demo-client
  export TWITCH_CLIENT_SECRET=sev-demo-secret
  export TWITCH_AUTH_URL="$sim/oauth2"
  export TWITCH_API_URL="$sim/helix"
  export TWITCH_EVENTSUB_WS_URL="ws://127.0.0.1:${sim_port}/ws"
  export TWITCH_PLAYER_URL="$sim/embed/player"
  export TWITCH_CHAT_URL="$sim/embed/"
  export SEV_DEMO=1
  export TWITCH_EVENTSUB_SECRET=${TWITCH_EVENTSUB_SECRET:-sev-demo-webhook-secret}
  echo "$who: demo mode: starting the Twitch simulator on $sim" >&2
  "$bin/twitch-sim" --listen "127.0.0.1:${sim_port}" --client-id "$TWITCH_CLIENT_ID" \
    --client-secret "$TWITCH_CLIENT_SECRET" --auto-approve "${SEV_DEMO_USER:-demo_viewer}" \
    --log-level warn --demo &
  local sim_pid=$!
  pids+=("$sim_pid")
  for _ in $(seq 1 150); do
    if ! kill -0 "$sim_pid" 2>/dev/null; then
      echo "$who: the Twitch simulator did not start" >&2
      return 1
    fi
    curl -fsS -o /dev/null "$sim/sim/deliveries" 2>/dev/null && break
    sleep 0.1
  done
  return 0
}
