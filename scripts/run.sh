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
. scripts/demo-env.sh
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
  export SEV_DATABASE=${SEV_DATABASE:-sqlite:var/demo.db}
  demo_start_sim run || exit $?
  echo "run: open $SEV_PUBLIC_URL — log in (you are ${SEV_DEMO_USER:-demo_viewer}), make a live channel your favorite and watch its events" >&2
fi

"$bin/sev" "$@" &
pids+=($!)
wait -n "${pids[@]}"
