#!/usr/bin/env node
'use strict';
// twitch-sim: a Twitch simulator (OAuth, Helix, EventSub WebSocket and webhooks) for SEV's tests
// and demo. See README.md and --help.

const { parseFlags, help, FlagError } = require('./flags');
const { createLogger } = require('./log');
const { createSimulator } = require('./server');

function main() {
  let config;
  try {
    config = parseFlags(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof FlagError)) throw e;
    process.stderr.write(`twitch-sim: ${e.message} (see --help)\n`);
    process.exit(2);
  }
  if (config.help) {
    process.stdout.write(help());
    return;
  }
  const log = createLogger(config.logLevel);
  const sim = createSimulator(config, log);
  sim.start().then(
    (url) => process.stdout.write(`twitch-sim listening on ${url}\n`),
    (e) => {
      process.stderr.write(`twitch-sim: cannot listen on ${config.listen.host}:${config.listen.port}: ${e.code || e.message}\n`);
      process.exit(1);
    },
  );
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.on(signal, () => {
      sim.stop();
      process.exit(0);
    });
  }
}

main();
