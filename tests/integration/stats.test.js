'use strict';
// /api/stats/* is open to anyone and each answer scans many rows: a flood of them must not
// hold up session lookups or since= replays (they share the store's read pool), answers are
// shared (one query for many identical requests) and stay correct (fresh after the cache time).
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const path = require('node:path');
const h = require('../lib/harness');
const tw = require('../lib/twitch');

const BIG = 'bigstreamer';
const ROWS = 200000;
let sim, sev, jar, firstId;

function sql(db, text) {
  const r = spawnSync('sqlite3', [db], { input: text, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

async function metric(name) {
  const text = await (await fetch(`${sev.url}/metrics`)).text();
  const m = text.match(new RegExp(`^${name} (\\d+)`, 'm'));
  return m ? Number(m[1]) : NaN;
}

before(async () => {
  // A database with many events: each stats answer is a real scan.
  const seed = await h.startSev();
  firstId = crypto.randomUUID();
  assert.equal((await h.postWebhook(seed, { body: h.followBody(BIG, 'first'), id: firstId })).status, 204);
  await seed.stop();
  const db = path.join(seed.dir, 'sev.db');
  const now = Date.now() * 1000;
  sql(db, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${ROWS})
    INSERT INTO events(id, type, streamer_id, streamer_login, created_at_us, received_at_us, summary, streamer_seq)
    SELECT 'bulk-' || i, 'channel.type' || (i % 7), CASE WHEN i % 2 = 0 THEN '${h.idFor(BIG)}' ELSE 'other' || (i % 3000) END,
           '${BIG}', ${now} - (i % 719) * 3600000000, ${now}, 'bulk', -i FROM n;
    -- each streamer's events numbered 1, 2, 3… in the order stored, as the store does
    UPDATE events SET streamer_seq = r.n FROM
      (SELECT seq, row_number() OVER (PARTITION BY streamer_id ORDER BY seq) AS n FROM events) r
      WHERE r.seq = events.seq;
    INSERT OR REPLACE INTO streamer_counters(streamer_id, last_seq)
      SELECT streamer_id, max(streamer_seq) FROM events GROUP BY streamer_id;
    INSERT INTO streamers(id, login, display_name, first_seen_us)
    SELECT DISTINCT streamer_id, 'o' || streamer_id, 'O', ${now} FROM events WHERE streamer_id LIKE 'other%';`);
  sim = await tw.startSim();
  sev = await tw.startSevWithSim(sim, { dir: seed.dir, env: { SEV_STATS_CACHE_SECONDS: '1' } });
  jar = await tw.loginAs(sev, sim, 'statsviewer');
});

after(() => h.stopAll(sev, sim));

test('a flood of distinct stats requests does not hold up /api/me, a since= replay or an events read', async () => {
  const flood = [];
  let answered = 0;
  for (let hours = 600; hours <= 720; hours++) {
    flood.push(fetch(`${sev.url}/api/stats/streamers/${BIG}/hourly?hours=${hours}`).then(async (r) => {
      assert.equal(r.status, 200);
      const rows = await r.json();
      assert.equal(rows.length, hours);
      answered++;
    }));
  }
  // Give the flood a head start: every request is in SEV before the reads below.
  await h.waitFor('the stats flood to reach SEV', async () => (await metric('sev_http_connections')) >= flood.length, 10000, 5);
  const t0 = Date.now();
  const ws = new h.WsClient(`${sev.url.replace('http', 'ws')}/ws?streamer=${BIG}&since=${firstId}`);
  await ws.opened;
  const events = fetch(`${sev.url}/api/streamers/${BIG}/events?limit=5`).then((r) => r.status);
  const me = tw.api(sev, jar, 'GET', '/api/me');
  // The replay reaches its end (a "replayed" marker or live) behind at most a few stats queries.
  await h.waitFor('the since= replay', () => ws.messages.length > 0, 20000, 5);
  assert.equal(await events, 200);
  const meAnswer = await me;
  assert.equal(meAnswer.status, 200);
  assert.equal(meAnswer.body.login, 'statsviewer');
  const stillWaiting = flood.length - answered;
  ws.close();
  await Promise.all(flood);
  assert.ok(stillWaiting > flood.length / 2,
    `the replay and the events read were answered while ${stillWaiting} of ${flood.length} stats requests still waited (${Date.now() - t0} ms)`);
});

test('identical stats requests share one query; answers are correct and fresh after the cache time', async () => {
  const q0 = await metric('sev_stats_queries_total');
  const answers = await Promise.all(Array.from({ length: 30 }, () => fetch(`${sev.url}/api/stats/streamers/${BIG}/types`).then((r) => r.json())));
  const q1 = await metric('sev_stats_queries_total');
  assert.ok(q1 - q0 <= 2, `30 identical requests made ${q1 - q0} queries`);
  for (const a of answers) assert.deepEqual(a, answers[0]);
  const total = answers[0].reduce((s, r) => s + r.events, 0);
  assert.equal(total, ROWS / 2 + 1, 'the counts are right');

  const r = await h.postWebhook(sev, { body: h.followBody(BIG, 'late'), id: crypto.randomUUID() });
  assert.equal(r.status, 204);
  await h.waitFor('the new event in the stats after the cache time', async () => {
    const t = await (await fetch(`${sev.url}/api/stats/streamers/${BIG}/types`)).json();
    return t.reduce((s, row) => s + row.events, 0) === total + 1;
  }, 10000, 100);
  const all = await (await fetch(`${sev.url}/api/stats/streamers`)).json();
  assert.equal(all.find((row) => row.streamer === BIG).events, ROWS / 2 + 2);
});
