#!/usr/bin/env bash
# Posts one signed EventSub notification to a running SEV, as Twitch would: a channel.follow
# of STREAMER by VIEWER, signed with TWITCH_EVENTSUB_SECRET (HMAC-SHA256 over message id +
# timestamp + body). Handy to watch an event reach an open streamer page by hand.
#
#   TWITCH_EVENTSUB_SECRET=… scripts/webhook-post.sh [--url http://localhost:8080] STREAMER [VIEWER]
#
# Prints the HTTP status SEV answered (204: stored and sent live). Exit 2 on bad usage.
set -euo pipefail

url=${SEV_URL:-http://localhost:8080}
if [ "${1:-}" = "--url" ]; then url=${2:-}; shift 2 || true; fi
if [ $# -lt 1 ] || [ $# -gt 2 ] || [ "${1:-}" = "--help" ]; then
  echo "usage: TWITCH_EVENTSUB_SECRET=… $0 [--url URL] STREAMER [VIEWER]" >&2
  exit 2
fi
secret=${TWITCH_EVENTSUB_SECRET:-}
if [ ${#secret} -lt 10 ]; then
  echo "webhook-post: TWITCH_EVENTSUB_SECRET must hold the secret SEV was started with (10..100 characters)" >&2
  exit 2
fi
streamer=$(printf '%s' "$1" | tr 'A-Z' 'a-z')
viewer=$(printf '%s' "${2:-someone}" | tr 'A-Z' 'a-z')
for name in "$streamer" "$viewer"; do
  if ! [[ $name =~ ^[a-z0-9_]{1,25}$ ]]; then
    echo "webhook-post: \"$name\" is not a Twitch login (letters, digits, _)" >&2
    exit 2
  fi
done

# Stable made-up numeric ids per login (the real ones come from Helix).
id_of() { printf '%s' "$1" | cksum | cut -d' ' -f1; }
id=$(cat /proc/sys/kernel/random/uuid)
ts=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
sub_id=$(cat /proc/sys/kernel/random/uuid)
body=$(printf '{"subscription":{"id":"%s","status":"enabled","type":"channel.follow","version":"2","condition":{"broadcaster_user_id":"%s","moderator_user_id":"%s"},"transport":{"method":"webhook","callback":"%s/eventsub/webhook"},"created_at":"%s","cost":0},"event":{"user_id":"%s","user_login":"%s","user_name":"%s","broadcaster_user_id":"%s","broadcaster_user_login":"%s","broadcaster_user_name":"%s","followed_at":"%s"}}' \
  "$sub_id" "$(id_of "$streamer")" "$(id_of "$streamer")" "$url" "$ts" \
  "$(id_of "$viewer")" "$viewer" "$viewer" "$(id_of "$streamer")" "$streamer" "$streamer" "$ts")
sig=$(printf '%s%s%s' "$id" "$ts" "$body" | openssl dgst -sha256 -hmac "$secret" | sed 's/^.*= //')

curl -sS -o /dev/null -w '%{http_code}\n' -X POST "$url/eventsub/webhook" \
  -H 'Content-Type: application/json' \
  -H "Twitch-Eventsub-Message-Id: $id" \
  -H 'Twitch-Eventsub-Message-Retry: 0' \
  -H 'Twitch-Eventsub-Message-Type: notification' \
  -H "Twitch-Eventsub-Message-Signature: sha256=$sig" \
  -H "Twitch-Eventsub-Message-Timestamp: $ts" \
  -H 'Twitch-Eventsub-Subscription-Type: channel.follow' \
  -H 'Twitch-Eventsub-Subscription-Version: 2' \
  --data-binary "$body"
