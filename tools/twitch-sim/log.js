'use strict';
// Structured logs: one JSON object per line on stderr. Callers pass only safe fields; tokens,
// secrets, codes and query strings are never logged.

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 };

function createLogger(level = 'info', stream = process.stderr) {
  const min = LEVELS[level];
  const write = (lvl) => (msg, fields = {}) => {
    if (LEVELS[lvl] < min) return;
    stream.write(JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, ...fields }) + '\n');
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

module.exports = { createLogger, LEVELS };
