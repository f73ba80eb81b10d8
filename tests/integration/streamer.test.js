'use strict';
// GET /api/streamers/{login}: who the streamer is and whether they are live now (title, game,
// viewers), from Helix Get Streams (shared and cached) and kept fresh by EventSub events.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('../lib/harness');
const tw = require('../lib/twitch');

const STREAMER = 'statusstar';
let sim;
let sev;
let viewer;

before(async () => {
  sim = await tw.startSim(['--log-level', 'debug']);
  await sim.user(STREAMER);
  sev = await tw.startSevWithSim(sim);
  viewer = await tw.loginAs(sev, sim, 'statusviewer');
});

after(() => h.stopAll(sev, sim));

const streamsCalls = () => (sim.proc.output.match(/"path":"\/helix\/streams"/g) || []).length;

async function info(login = STREAMER) {
  const r = await tw.api(sev, null, 'GET', `/api/streamers/${login}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

test('an offline streamer: live false from Helix, concurrent askers share one call', async () => {
  const r = await tw.api(sev, viewer, 'PUT', '/api/me/favorite', { login: STREAMER });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  // the first-view backfill asks Get Streams too: count from when it has
  await h.waitFor('the first-view backfill', () => /eventsub\.backfilled streamer=statusstar type=stream\.online/.test(sev.proc.output), 10000);
  // (and the simulator's own log line of it, which may reach this process after sev's)
  await h.waitFor('the simulator to log the backfill', () => streamsCalls() >= 1, 5000);
  const n = streamsCalls();
  const answers = await Promise.all(Array.from({ length: 20 }, () => info()));
  for (const a of answers) {
    assert.equal(a.streamer.login, STREAMER);
    assert.match(a.streamer.profile_image_url, /\/statusstar\.svg$/, 'the picture from Get Users');
    assert.equal(a.live, false);
    assert.equal(a.viewer_count, null);
  }
  await h.waitFor('the simulator to log its requests', () => streamsCalls() > n, 5000);
  assert.equal(streamsCalls() - n, 1, 'one Get Streams for twenty askers');
  await info();
  assert.equal(streamsCalls() - n, 1, 'the answer is cached');
});

test('going live shows at once through EventSub, with title and game', async () => {
  await h.waitFor('the subscriptions to be enabled', async () => (await sim.subscriptions())
    .some((s) => s.type === 'stream.online' && s.status === 'enabled'), 15000, 100);
  await sim.post(`/sim/streams/${STREAMER}`, { live: true, title: 'Speedrunning tonight', game_name: 'Celeste' });
  const live = await h.waitFor('live with its title', async () => {
    const a = await info();
    return a.live === true && a.title === 'Speedrunning tonight' ? a : null;
  }, 10000, 50);
  assert.equal(live.game_name, 'Celeste');
  assert.match(live.started_at, /^\d{4}-\d\d-\d\dT/);
  await sim.post(`/sim/streams/${STREAMER}`, { live: false });
  const off = await h.waitFor('offline again', async () => {
    const a = await info();
    return a.live === false ? a : null;
  }, 10000, 50);
  assert.equal(off.started_at, null);
  assert.equal(off.title, 'Speedrunning tonight', 'the last title is kept while offline');
});

test('an unknown streamer is 404 and a malformed login 400, without asking Helix', async () => {
  const n = streamsCalls();
  assert.equal((await tw.api(sev, null, 'GET', '/api/streamers/nobodyhere')).status, 404);
  assert.equal((await tw.api(sev, null, 'GET', '/api/streamers/bad%20name')).status, 400);
  assert.equal(streamsCalls(), n);
});

test('Helix failing still answers, with what is known', async () => {
  await sim.post('/sim/faults', { status: 503, count: 50, path: '/helix/streams' });
  try {
    const other = 'statusother';
    await sim.user(other);
    const jar = await tw.loginAs(sev, sim, 'statusviewer2');
    assert.equal((await tw.api(sev, jar, 'PUT', '/api/me/favorite', { login: other })).status, 200);
    const a = await info(other);
    assert.equal(a.streamer.login, other);
    assert.equal(a.live, null, 'unknown rather than a guess');
  } finally {
    await sim.call('DELETE', '/sim/faults');
  }
});
