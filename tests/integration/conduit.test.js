'use strict';
// Conduit mode (issue 12 item 4) against the simulator: with an app configured and no https
// public URL, sev makes one conduit, points its shard at an EventSub WebSocket session of its
// own and subscribes the app-token types with transport conduit; the chat types still ride the
// viewer's session. A session_reconnect moves the shard with the session; a killed shard
// session is replaced and the shard re-pointed within 10 s; a restart finds the same conduit
// (no second one) and adopts its subscriptions.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('../lib/harness');
const tw = require('../lib/twitch');

const STREAMER = 'conduitstar';
const APP_TYPES = ['stream.online', 'stream.offline', 'channel.update', 'channel.raid', 'channel.shared_chat.begin', 'channel.shared_chat.update', 'channel.shared_chat.end'];
const CHAT = ['channel.chat.notification', 'channel.chat.message'];
let sim;
let sev;
let dir;
let streamerId;
let viewer;
let viewerId;

const about = (s) => [s.condition.broadcaster_user_id, s.condition.to_broadcaster_user_id, s.condition.from_broadcaster_user_id].includes(streamerId);

async function conduits() {
  return (await sim.get('/sim/conduits')).data;
}

// The conduit's shard 0 when it is enabled behind a live session.
async function liveShard() {
  const [c] = await conduits();
  const shard = c?.shards[0];
  if (!shard || shard.status !== 'enabled') return null;
  const sessions = await sim.sessions();
  return sessions.some((s) => s.id === shard.transport.session_id && s.conduit_id === c.id) ? { conduit: c, shard } : null;
}

async function fullSet() {
  return h.waitFor('the conduit and chat subscriptions', async () => {
    const subs = (await sim.subscriptions()).filter((s) => about(s) && s.status === 'enabled');
    const types = new Set(subs.map((s) => s.type));
    const ok = [...APP_TYPES, ...CHAT].every((t) => types.has(t)) && subs.filter((s) => s.type === 'channel.raid').length === 2;
    return ok ? subs : null;
  }, 15000, 100);
}

async function trigger(body) {
  const r = await sim.post('/sim/trigger', { broadcaster: STREAMER, ...body });
  assert.equal(r.delivered, 1, JSON.stringify(body));
  return r.message_ids[0];
}

before(async () => {
  sim = await tw.startSim();
  streamerId = (await sim.user(STREAMER)).id;
  // No TWITCH_EVENTSUB_TRANSPORT: an app and an http public URL make conduit the default.
  sev = await tw.startSevWithSim(sim);
  dir = sev.dir;
  viewer = await tw.loginAs(sev, sim, 'conduitviewer');
  viewerId = (await tw.api(sev, viewer, 'GET', '/api/me')).body.id;
});

after(() => h.stopAll(sev, sim));

test('sev makes one conduit and points its shard at a session of its own (no user)', async () => {
  const { conduit, shard } = await h.waitFor('an enabled shard', liveShard, 10000, 100);
  assert.equal(conduit.client_id, tw.CLIENT_ID);
  assert.equal(conduit.shard_count, 1);
  assert.equal(shard.transport.method, 'websocket');
  const session = (await sim.sessions()).find((s) => s.id === shard.transport.session_id);
  assert.equal(session.user_id, null, 'not a viewer\'s session');
  assert.equal((await conduits()).length, 1);
});

test('a favorite subscribes the app-token types over the conduit and the chat types over the viewer\'s session', async () => {
  const r = await tw.api(sev, viewer, 'PUT', '/api/me/favorite', { login: STREAMER });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const subs = await fullSet();
  const [c] = await conduits();
  for (const s of subs) {
    if (CHAT.includes(s.type)) {
      assert.equal(s.transport.method, 'websocket', s.type);
      assert.equal(s.user_id, viewerId, `${s.type} rides the viewer's session`);
    } else {
      assert.deepEqual(s.transport, { method: 'conduit', conduit_id: c.id }, s.type);
      assert.equal(s.user_id, null, `${s.type} made with the app token`);
    }
  }
  assert.equal(subs.length, APP_TYPES.length + 1 + CHAT.length);
  const caps = await h.waitFor('capabilities to say conduit', async () => {
    const x = await tw.api(sev, null, 'GET', `/api/streamers/${STREAMER}/capabilities`);
    const online = x.body.types.find((t) => t.type === 'stream.online');
    return online.receiving ? x.body : null;
  });
  assert.equal(caps.types.find((t) => t.type === 'stream.online').transport, 'conduit');
  assert.equal(caps.types.find((t) => t.type === 'channel.chat.message').transport, 'websocket');
});

test('app-token types arrive over the conduit shard and reach a /ws viewer; chat over the viewer\'s session', async () => {
  const ws = await h.openWs(sev, STREAMER);
  const sent = [];
  sent.push(await trigger({ type: 'stream.online' }));
  sent.push(await trigger({ type: 'channel.update', title: 'conduit title', category_name: 'Art' }));
  sent.push(await trigger({ type: 'channel.raid', viewers: 7 }));
  sent.push(await trigger({ type: 'channel.shared_chat.begin', user: 'conduitviewer' }));
  const chat = await trigger({ type: 'channel.chat.notification', notice_type: 'sub' });
  await h.waitFor('the events on /ws', () => [...sent, chat].every((id) => ws.events().some((e) => e.id === id)), 10000);
  for (const id of sent) {
    const [d] = (await sim.get(`/sim/deliveries?message_id=${id}`)).data;
    assert.equal(d.transport, 'conduit');
    assert.equal(d.outcome, 'sent');
  }
  const [d] = (await sim.get(`/sim/deliveries?message_id=${chat}`)).data;
  assert.equal(d.transport, 'websocket');
  ws.close();
});

test('session_reconnect on the shard session: the shard moves with it, nothing is lost, no gap', async () => {
  const ws = await h.openWs(sev, STREAMER);
  const before = await liveShard();
  const r = await sim.post('/sim/eventsub/reconnect', { session_id: before.shard.transport.session_id });
  assert.equal(r.sessions, 1);
  const id = await trigger({ type: 'channel.update', title: 'across the hand-over', category_name: 'Art' });
  await h.waitFor('the event across the hand-over', () => ws.events().some((e) => e.id === id), 10000);
  const after = await h.waitFor('the shard on the new session', async () => {
    const x = await liveShard();
    return x && x.shard.transport.session_id !== before.shard.transport.session_id ? x : null;
  }, 10000, 100);
  assert.equal(after.conduit.id, before.conduit.id);
  assert.ok(!/eventsub\.shard_session_lost/.test(sev.proc.output), 'a hand-over is not a loss');
  assert.ok(!ws.events().some((e) => e.type === 'sev.gap'), 'a hand-over is not a gap');
  ws.close();
});

test('a shard session killed by Twitch is replaced and the shard re-pointed within 10 s; a gap marker tells the lost time', async () => {
  const ws = await h.openWs(sev, STREAMER);
  const before = await liveShard();
  const t0 = Date.now();
  await sim.post('/sim/eventsub/close', { code: 4006, session_id: before.shard.transport.session_id });
  const now = await h.waitFor('the shard re-pointed at a new session', async () => {
    const x = await liveShard();
    return x && x.shard.transport.session_id !== before.shard.transport.session_id ? x : null;
  }, 10000, 100);
  assert.ok(Date.now() - t0 < 10000);
  assert.equal(now.conduit.id, before.conduit.id, 'the same conduit');
  assert.equal((await conduits()).length, 1);
  const gap = await h.waitFor('a gap marker', () => ws.events().find((e) => e.type === 'sev.gap'), 5000);
  assert.ok(gap.data.from && gap.data.to);
  const id = await trigger({ type: 'stream.offline' });
  await h.waitFor('an event after the new session', () => ws.events().some((e) => e.id === id), 10000);
  ws.close();
});

test('a restart finds the same conduit (no second one) and adopts its subscriptions', async () => {
  const [c] = await conduits();
  const ids = (await fullSet()).map((s) => s.id).filter(Boolean);
  await sev.stop();
  sev = await tw.startSevWithSim(sim, { dir });
  await h.waitFor('the shard behind the restarted sev', async () => {
    const x = await liveShard();
    const sessions = await sim.sessions();
    return x && sessions.filter((s) => s.conduit_id).length === 1 ? x : null;
  }, 10000, 100);
  const all = await conduits();
  assert.equal(all.length, 1, 'no second conduit');
  assert.equal(all[0].id, c.id);
  const subs = await fullSet();
  const conduitSubs = subs.filter((s) => s.transport.method === 'conduit');
  const keys = conduitSubs.map((s) => `${s.type}:${JSON.stringify(s.condition)}`);
  assert.equal(new Set(keys).size, keys.length, `duplicates: ${keys}`);
  for (const s of conduitSubs) assert.ok(ids.includes(s.id), `${s.type} adopted, not made again`);
  const ws = await h.openWs(sev, STREAMER);
  const id = await trigger({ type: 'stream.online' });
  await h.waitFor('an event after the restart', () => ws.events().some((e) => e.id === id), 10000);
  ws.close();
});

test('TWITCH_EVENTSUB_TRANSPORT=websocket keeps the app-token types on the viewer\'s session', async () => {
  const s2 = await tw.startSim();
  const v = await tw.startSevWithSim(s2, { env: { TWITCH_EVENTSUB_TRANSPORT: 'websocket' } });
  try {
    const jar = await tw.loginAs(v, s2, 'wsmodeviewer');
    const star = (await s2.user('wsmodestar')).id;
    await tw.api(v, jar, 'PUT', '/api/me/favorite', { login: 'wsmodestar' });
    const subs = await h.waitFor('the set over websocket', async () => {
      const all = (await s2.subscriptions()).filter((s) => s.condition.broadcaster_user_id === star && s.status === 'enabled');
      return all.some((s) => s.type === 'stream.online') ? all : null;
    }, 15000, 100);
    assert.ok(subs.every((s) => s.transport.method === 'websocket'));
    assert.equal((await s2.get('/sim/conduits')).data.length, 0, 'no conduit');
  } finally {
    await h.stopAll(v, s2);
  }
});
