'use strict';
// Helpers for the cluster tests: several sev nodes sharing one store and one Redis.
// The store is PostgreSQL when tests/lib/postgres.js can start one (SEV_TEST_PG=0 turns it
// off), else one SQLite file shared by the nodes (same per-streamer order, one host).
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const h = require('../lib/harness');

async function startStore() {
  const pgLib = path.join(__dirname, '..', 'lib', 'postgres.js');
  if (process.env.SEV_TEST_PG !== '0' && fs.existsSync(pgLib)) {
    const pg = await require(pgLib).startPostgres();
    return { kind: 'postgres', uri: pg.uri, pg, stop: () => pg.stop() };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sev-cluster-'));
  return { kind: 'sqlite', uri: `sqlite:${path.join(dir, 'sev.db')}`, dir, stop: async () => {} };
}

// Starts a node on store + redis. Every node shares the key file and the secret.
async function startNode(store, redis, name, extraEnv = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `sev-node-${name}-`));
  const keyDir = store.keyDir || (store.keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sev-key-')));
  return h.startSev({
    dir,
    env: {
      SEV_DATABASE: store.uri, SEV_BUS: redis.url, SEV_NODE_ID: name,
      SEV_KEY_FILE: path.join(keyDir, 'sev.key'), ...extraEnv,
    },
  });
}

// Posts one follow to node; resolves {id, status}.
async function follow(node, streamer, viewer, id = crypto.randomUUID()) {
  const body = h.followBody(streamer, viewer);
  try {
    const r = await h.postWebhook(node, { body, id });
    return { id, status: r.status, body };
  } catch (e) {
    return { id, status: 0, body }; // no answer: it may or may not have been stored
  }
}

function ids(client) {
  return client.events().map((e) => e.id);
}

function assertOnce(list, what) {
  const seen = new Set();
  for (const x of list) {
    if (seen.has(x)) throw new Error(`${what}: ${x} twice`);
    seen.add(x);
  }
}

module.exports = { startStore, startNode, follow, ids, assertOnce };
