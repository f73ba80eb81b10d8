#!/bin/sh
# build/twitch-sim: runs the bundled Twitch simulator (tools/twitch-sim, Node.js).
exec node "@ROOT@/tools/twitch-sim/main.js" "$@"
