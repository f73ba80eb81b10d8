'use strict';
// History on first view and gap filling from Helix (issue 5): when a streamer is first
// favorited, the stream live now and — when the broadcaster consented — the latest followers are
// stored, so the page is not empty; what EventSub also tells is stored once.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('../lib/harness');
const tw = require('../lib/twitch');

const STREAMER = 'backfillstar';
const FANS = ['fanone', 'fantwo', 'fanthree'];
let sim;
let sev;

before(async () => {
  sim = await tw.startSim();
  await sim.user(STREAMER);
  for (const fan of FANS) {
    await sim.user(fan);
    await sim.post('/sim/follows', { user: fan, broadcaster: STREAMER });
  }
  await sim.post(`/sim/streams/${STREAMER}`, { live: true, title: 'Backfill day', game_name: 'Chess' });
  sev = await tw.startSevWithSim(sim);
});

after(() => h.stopAll(sev, sim));

async function eventsOf(login) {
  const r = await fetch(`${sev.url}/api/streamers/${login}/events?limit=100`);
  return r.status === 200 ? (await r.json()).events : [];
}

test('a consenting broadcaster\'s first view holds the live stream and the latest followers', async () => {
  // the broadcaster logs in with the broadcaster scopes and favorites their own channel
  const jar = await tw.loginAs(sev, sim, STREAMER, '?broadcaster=1');
  const r = await tw.api(sev, jar, 'PUT', '/api/me/favorite', { login: STREAMER });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const events = await h.waitFor('the backfilled follows and stream', async () => {
    const evs = await eventsOf(STREAMER);
    const follows = evs.filter((e) => e.type === 'channel.follow');
    return follows.length === FANS.length && evs.some((e) => e.type === 'stream.online') ? evs : null;
  }, 15000, 100);
  const follows = events.filter((e) => e.type === 'channel.follow');
  assert.deepEqual(follows.map((e) => e.viewer_login).sort(), [...FANS].sort());
  for (const f of follows) assert.match(f.summary, /followed$/);
  const online = events.find((e) => e.type === 'stream.online');
  assert.equal(online.streamer_login, STREAMER);
  const info = await tw.api(sev, null, 'GET', `/api/streamers/${STREAMER}`);
  assert.equal(info.body.streamer.display_name, 'Backfillstar', 'the backfill kept the display name');
});

test('a follow while SEV was down is filled in from Helix after the restart, each follow once', async () => {
  await h.waitFor('the follow subscription', async () => (await sim.subscriptions())
    .some((s) => s.type === 'channel.follow' && s.status === 'enabled'), 15000, 100);
  await sim.user('fanfour');
  await sim.post('/sim/follows', { user: 'fanfour', broadcaster: STREAMER });
  const live = await h.waitFor('the live follow', async () => (await eventsOf(STREAMER)).find((e) => e.viewer_login === 'fanfour'), 10000, 50);
  assert.ok(!live.id.startsWith('helix-'), 'told by EventSub');
  const dir = sev.dir;
  await sev.stop();
  await sim.user('fanfive');
  await sim.post('/sim/follows', { user: 'fanfive', broadcaster: STREAMER });
  sev = await tw.startSevWithSim(sim, { dir });
  const missed = await h.waitFor('the missed follow', async () => (await eventsOf(STREAMER)).find((e) => e.viewer_login === 'fanfive'), 15000, 100);
  assert.match(missed.id, /^helix-follow-/, 'learnt from Helix');
  const evs = await eventsOf(STREAMER);
  assert.ok(evs.some((e) => e.type === 'sev.gap' && /restart/i.test(e.summary)), 'the restart gap is shown too');
  const follows = evs.filter((e) => e.type === 'channel.follow').map((e) => e.viewer_login).sort();
  assert.deepEqual(follows, [...FANS, 'fanfour', 'fanfive'].sort(), 'every follow once');
  assert.equal(evs.filter((e) => e.type === 'stream.online').length, 1, 'the live stream once');
});
