'use strict';
// Helpers for the cluster tests: several sev nodes sharing one store and one Redis.
// The store is PostgreSQL (tests/lib/postgres.js: a throwaway server on a free loopback
// port); SEV_TEST_PG=0 uses one SQLite file shared by the nodes
// instead (the same per-streamer order, on one host), for a machine without PostgreSQL.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const h = require('../lib/harness');
const { startPostgres } = require('../lib/postgres');

async function startStore() {
  if (process.env.SEV_TEST_PG !== '0') {
    const pg = await startPostgres();
    return {
      kind: 'postgres', uri: pg.uri, dir: pg.dir,
      stopServer: () => pg.stop('immediate'), // -m immediate: as if it died
      restartServer: () => pg.start(),
      stop: () => pg.destroy(),
    };
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
