'use strict';
// SEV on PostgreSQL (SEV_DATABASE=postgresql://…), with a PostgreSQL started by the test:
// webhooks answered after COMMIT and deduplicated across nodes, since= in the per-streamer
// order, a bad or unreachable database at start is one clear line and exit 2, and while
// PostgreSQL is down webhooks get 503 (never 2xx) until it is back.
const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const h = require('../lib/harness');
const { startPostgres } = require('../lib/postgres');

let pg;
test.before(async () => { pg = await startPostgres(); });
test.after(async () => { await pg?.destroy(); });

async function startFails(database) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sev-test-'));
  const proc = new h.Proc('sev', h.SEV_BIN, [], {
    SEV_LISTEN: '127.0.0.1:0', SEV_DATABASE: database, SEV_KEY_FILE: path.join(dir, 'sev.key'),
    SEV_WEB_DIR: path.join(h.ROOT, 'web'), TWITCH_EVENTSUB_SECRET: 'test-secret-0123456789',
  });
  const r = await proc.exited;
  proc.checkSanitizers();
  return { code: r.code, output: proc.output.trim() };
}

test('a URI libpq rejects, or an unreachable database: one line naming SEV_DATABASE, exit 2, no password', async () => {
  for (const uri of ['postgresql://sev:hunter2@127.0.0.1/sev?hunter2=x',
    'postgres://sev:hunter2@[::1/sev',
    `postgresql://sev:hunter2@127.0.0.1:${await h.freePort()}/sev`]) {
    const r = await startFails(uri);
    assert.equal(r.code, 2, r.output);
    assert.match(r.output, /^sev: SEV_DATABASE: /, r.output);
    assert.equal(r.output.split('\n').length, 1, r.output);
    assert.doesNotMatch(r.output, /hunter2/);
  }
});

test('two nodes on one PostgreSQL: stored once, answered after COMMIT, one order for since=', async () => {
  const db = await pg.createDb('nodes');
  // a password in the URI (trust auth ignores it) must never reach the log
  const a = await h.startSev({ env: { SEV_DATABASE: db.replace('sev@', 'sev:hunter2@') } });
  const b = await h.startSev({ env: { SEV_DATABASE: `postgresql://sev@/nodes?host=${pg.dir}&port=${pg.port}` } });
  try {
    assert.doesNotMatch(a.proc.output + b.proc.output, /hunter2/);
    const ids = [];
    const posts = [];
    for (let i = 0; i < 40; i++) {
      const id = crypto.randomUUID();
      ids.push(id);
      posts.push(h.postWebhook(i % 2 ? b : a, { id, body: h.followBody('pgstreamer', `viewer${i}`) }));
    }
    for (const r of await Promise.all(posts)) assert.equal(r.status, 204);
    // acknowledged means committed: every one is in the table now
    assert.equal(await pg.query('SELECT count(*) FROM events', 'nodes'), '40');
    // the same message delivered to the other node too: a duplicate, still one row
    assert.equal((await h.postWebhook(b, { id: ids[0], body: h.followBody('pgstreamer', 'viewer0') })).status, 204);
    assert.equal(await pg.query('SELECT count(*) FROM events', 'nodes'), '40');
    // dense, unique per-streamer numbers
    assert.equal(await pg.query('SELECT count(DISTINCT streamer_seq) || \',\' || min(streamer_seq) || \',\' || max(streamer_seq) FROM events', 'nodes'), '40,1,40');
    // since= on either node replays exactly what follows, in the same order
    const order = (await pg.query('SELECT id FROM events ORDER BY streamer_seq', 'nodes')).split('\n');
    const from = order[9];
    for (const node of [a, b]) {
      const ws = await h.openWs(node, 'pgstreamer', from);
      const got = await h.waitFor('the replay', async () => {
        const evs = ws.events ? ws.events() : [];
        return evs.length >= 30 ? evs : null;
      }, 10000);
      assert.deepEqual(got.slice(0, 30).map((e) => e.id), order.slice(10));
      ws.close();
    }
  } finally {
    await h.stopAll(a.proc, b.proc);
  }
});

test('PostgreSQL stopped: webhooks 503 and /healthz 503, then back by itself within 10 s', async () => {
  const db = await pg.createDb('outage');
  const sev = await h.startSev({ env: { SEV_DATABASE: db } });
  try {
    assert.equal((await h.postWebhook(sev, { body: h.followBody('outage', 'v1') })).status, 204);
    await pg.stop('immediate');
    await h.waitFor('/healthz 503', async () => (await fetch(sev.url + '/healthz')).status === 503, 10000);
    const lost = crypto.randomUUID();
    const r = await h.postWebhook(sev, { id: lost, body: h.followBody('outage', 'v2') });
    assert.equal(r.status, 503);
    await pg.start();
    await h.waitFor('/healthz 200', async () => (await fetch(sev.url + '/healthz')).status === 200, 10000);
    // Twitch retries the unacknowledged message: stored now, once
    assert.equal((await h.postWebhook(sev, { id: lost, body: h.followBody('outage', 'v2') })).status, 204);
    assert.equal(await pg.query(`SELECT count(*) FROM events WHERE id = '${lost}'`, 'outage'), '1');
    assert.equal(await pg.query('SELECT max(streamer_seq) FROM events', 'outage'), '2');
  } finally {
    await h.stopAll(sev.proc);
  }
});
