'use strict';
// EventSub conduits: Create/Get/Update/Delete Conduits, Get/Update Conduit Shards, subscriptions
// with transport conduit (app token, the client's own conduit), shard statuses when a shard's
// WebSocket session ends, notifications spread across enabled shards, the limits, and errors in
// Helix's {"error","status","message"} shape.

const test = require('node:test');
const assert = require('node:assert/strict');
const { startSimAlone, startReceiver, WsClient, waitFor } = require('./harness');

const OTHER_ID = 'simtestotherclient0000000000001';
const OTHER_SECRET = 'simtestothersecret000000000001';

let sim;
let app;
let other;
let user;
let streamer;

test.before(async () => {
  sim = await startSimAlone(['--max-conduits', '3', '--max-conduit-shards', '50', '--app', `${OTHER_ID}:${OTHER_SECRET}`,
    '--ws-default-keepalive', '10', '--ws-subscribe-timeout', '1.5']);
  app = await sim.appToken();
  other = await sim.appToken(OTHER_ID, OTHER_SECRET);
  streamer = await sim.createUser('constreamer');
  await sim.createUser('conviewer');
  user = (await sim.userToken('conviewer', ['user:read:chat'])).access_token;
});
test.after(() => sim.stop());

const isHelixError = (r, status) => {
  assert.equal(r.status, status, r.text);
  assert.equal(r.json.status, status);
  assert.equal(typeof r.json.error, 'string');
  assert.equal(typeof r.json.message, 'string');
};

// Helix as the other client.
const oh = (method, p, body) => sim.helix(other, method, p, body, OTHER_ID);

async function deleteAll(token = app) {
  const call = token === other ? oh : (m, p) => sim.helix(app, m, p);
  const g = await call('GET', '/eventsub/conduits');
  for (const c of g.json.data) await call('DELETE', `/eventsub/conduits?id=${c.id}`);
}

async function conduit(shards = 1) {
  const r = await sim.helix(app, 'POST', '/eventsub/conduits', { shard_count: shards });
  assert.equal(r.status, 200, r.text);
  return r.json.data[0];
}

const point = (conduitId, id, sessionId) => sim.helix(app, 'PATCH', '/eventsub/conduits/shards',
  { conduit_id: conduitId, shards: [{ id, transport: { method: 'websocket', session_id: sessionId } }] });

const onlineSub = (conduitId, token = app) => sim.subscribe(token, 'stream.online', '1', { broadcaster_user_id: streamer.id },
  { method: 'conduit', conduit_id: conduitId });

test('create, get, update and delete conduits (app token only)', async () => {
  await deleteAll();
  const c = await conduit(2);
  assert.match(c.id, /^[0-9a-f-]{36}$/);
  assert.equal(c.shard_count, 2);
  const g = await sim.helix(app, 'GET', '/eventsub/conduits');
  assert.deepEqual(g.json.data, [{ id: c.id, shard_count: 2 }]);
  assert.deepEqual((await oh('GET', '/eventsub/conduits')).json.data, [], 'another client sees none of them');

  const u = await sim.helix(app, 'PATCH', '/eventsub/conduits', { id: c.id, shard_count: 4 });
  assert.equal(u.status, 200);
  assert.deepEqual(u.json.data, [{ id: c.id, shard_count: 4 }]);
  const shards = await sim.helix(app, 'GET', `/eventsub/conduits/shards?conduit_id=${c.id}`);
  assert.deepEqual(shards.json.data.map((s) => s.id), ['0', '1', '2', '3']);

  isHelixError(await sim.helix(user, 'GET', '/eventsub/conduits'), 401);
  isHelixError(await sim.helix(user, 'POST', '/eventsub/conduits', { shard_count: 1 }), 401);
  isHelixError(await sim.helix(app, 'POST', '/eventsub/conduits', {}), 400);
  isHelixError(await sim.helix(app, 'POST', '/eventsub/conduits', { shard_count: 0 }), 400);
  isHelixError(await sim.helix(app, 'POST', '/eventsub/conduits', { shard_count: '2' }), 400);
  isHelixError(await sim.helix(app, 'PATCH', '/eventsub/conduits', { id: c.id }), 400);
  isHelixError(await oh('PATCH', '/eventsub/conduits', { id: c.id, shard_count: 1 }), 404);
  isHelixError(await oh('DELETE', `/eventsub/conduits?id=${c.id}`), 404);
  isHelixError(await sim.helix(app, 'DELETE', '/eventsub/conduits'), 400);

  const d = await sim.helix(app, 'DELETE', `/eventsub/conduits?id=${c.id}`);
  assert.equal(d.status, 204);
  assert.deepEqual((await sim.helix(app, 'GET', '/eventsub/conduits')).json.data, []);
  isHelixError(await sim.helix(app, 'DELETE', `/eventsub/conduits?id=${c.id}`), 404);
});

test('limits: conduits per client (429) and shards per conduit (400)', async () => {
  await deleteAll();
  for (let i = 0; i < 3; i++) await conduit(1);
  isHelixError(await sim.helix(app, 'POST', '/eventsub/conduits', { shard_count: 1 }), 429);
  assert.equal((await oh('POST', '/eventsub/conduits', { shard_count: 1 })).status, 200, 'the limit is per client');
  await deleteAll();
  await deleteAll(other);
  isHelixError(await sim.helix(app, 'POST', '/eventsub/conduits', { shard_count: 51 }), 400);
  const c = await conduit(50);
  isHelixError(await sim.helix(app, 'PATCH', '/eventsub/conduits', { id: c.id, shard_count: 51 }), 400);
  const page1 = await sim.helix(app, 'GET', `/eventsub/conduits/shards?conduit_id=${c.id}`);
  assert.equal(page1.json.data.length, 50);
});

test('the default limits are Twitch\'s: 20,000 shards per conduit, 5 conduits per client', async () => {
  const plain = await startSimAlone();
  try {
    const token = await plain.appToken();
    const big = await plain.helix(token, 'POST', '/eventsub/conduits', { shard_count: 20000 });
    assert.equal(big.status, 200);
    isHelixError(await plain.helix(token, 'POST', '/eventsub/conduits', { shard_count: 20001 }), 400);
    const first = await plain.helix(token, 'GET', `/eventsub/conduits/shards?conduit_id=${big.json.data[0].id}`);
    assert.ok(first.json.pagination.cursor, 'shards come in pages');
    for (let i = 0; i < 4; i++) assert.equal((await plain.helix(token, 'POST', '/eventsub/conduits', { shard_count: 1 })).status, 200);
    assert.equal((await plain.helix(token, 'POST', '/eventsub/conduits', { shard_count: 1 })).status, 429);
  } finally {
    plain.stop();
  }
});

test('update shards: a websocket session enables a shard; per-shard errors; unknown conduit 404', async () => {
  await deleteAll();
  const c = await conduit(2);
  const ws = await WsClient.connect(sim.wsUrl());
  const r = await sim.helix(app, 'PATCH', '/eventsub/conduits/shards', {
    conduit_id: c.id,
    shards: [
      { id: '0', transport: { method: 'websocket', session_id: ws.sessionId } },
      { id: '7', transport: { method: 'websocket', session_id: ws.sessionId } },
      { id: '1', transport: { method: 'websocket', session_id: 'no-such-session' } },
    ],
  });
  assert.equal(r.status, 202, r.text);
  assert.equal(r.json.data.length, 1);
  assert.equal(r.json.data[0].id, '0');
  assert.equal(r.json.data[0].status, 'enabled');
  assert.equal(r.json.data[0].transport.method, 'websocket');
  assert.equal(r.json.data[0].transport.session_id, ws.sessionId);
  assert.deepEqual(r.json.errors.map((e) => e.id).sort(), ['1', '7']);
  for (const e of r.json.errors) {
    assert.equal(typeof e.message, 'string');
    assert.equal(typeof e.code, 'string');
  }
  const enabled = await sim.helix(app, 'GET', `/eventsub/conduits/shards?conduit_id=${c.id}&status=enabled`);
  assert.deepEqual(enabled.json.data.map((s) => s.id), ['0']);

  isHelixError(await sim.helix(app, 'PATCH', '/eventsub/conduits/shards', { conduit_id: 'nope', shards: [{ id: '0' }] }), 404);
  isHelixError(await sim.helix(app, 'PATCH', '/eventsub/conduits/shards', { conduit_id: c.id }), 400);
  isHelixError(await sim.helix(app, 'PATCH', '/eventsub/conduits/shards', { shards: [] }), 400);
  isHelixError(await oh('GET', `/eventsub/conduits/shards?conduit_id=${c.id}`), 404);
  isHelixError(await sim.helix(app, 'GET', '/eventsub/conduits/shards'), 400);
  isHelixError(await sim.helix(user, 'GET', `/eventsub/conduits/shards?conduit_id=${c.id}`), 401);

  // A shard's session is in use: past the subscribe window it stays open, and a user cannot
  // subscribe on it.
  await new Promise((res) => setTimeout(res, 1800));
  assert.equal(ws.closed, null, 'a session pointed at by a shard is not "unused" (no 4003)');
  const onShard = await sim.subscribe(user, 'channel.chat.message', '1', { broadcaster_user_id: streamer.id, user_id: (await sim.control('GET', '/users')).json.data.find((u) => u.login === 'conviewer').id },
    { method: 'websocket', session_id: ws.sessionId });
  isHelixError(onShard, 400);
  ws.close();
});

test('subscriptions with transport conduit: app token only, the client\'s own conduit, enabled at once, listed', async () => {
  await deleteAll();
  const c = await conduit(1);
  isHelixError(await onlineSub(c.id, user), 401);
  isHelixError(await onlineSub('00000000-0000-0000-0000-000000000000'), 400);
  isHelixError(await sim.subscribe(app, 'stream.online', '1', { broadcaster_user_id: streamer.id }, { method: 'conduit' }), 400);
  const otherConduit = (await oh('POST', '/eventsub/conduits', { shard_count: 1 })).json.data[0];
  isHelixError(await onlineSub(otherConduit.id), 400);
  await deleteAll(other);

  const r = await onlineSub(c.id);
  assert.equal(r.status, 202, r.text);
  const sub = r.json.data[0];
  assert.equal(sub.status, 'enabled');
  assert.deepEqual(sub.transport, { method: 'conduit', conduit_id: c.id });
  isHelixError(await onlineSub(c.id), 409);
  const listed = await sim.helix(app, 'GET', `/eventsub/subscriptions?subscription_id=${sub.id}`);
  assert.deepEqual(listed.json.data[0].transport, { method: 'conduit', conduit_id: c.id });

  // Deleting the conduit takes its subscriptions with it.
  await sim.helix(app, 'DELETE', `/eventsub/conduits?id=${c.id}`);
  assert.equal((await sim.helix(app, 'GET', `/eventsub/subscriptions?subscription_id=${sub.id}`)).json.data.length, 0);
});

test('notifications spread across enabled shards, with transport conduit; none while no shard is enabled', async () => {
  await deleteAll();
  const c = await conduit(3);
  const sub = (await onlineSub(c.id)).json.data[0];
  const quiet = await sim.control('POST', '/trigger', { type: 'stream.online', broadcaster: 'constreamer' });
  assert.equal(quiet.json.delivered, 1);
  const dropped = await waitFor('the dropped delivery', async () => (await sim.deliveries({ message_id: quiet.json.message_ids[0] }))[0]);
  assert.equal(dropped.outcome, 'dropped');
  assert.equal(dropped.transport, 'conduit');

  const a = await WsClient.connect(sim.wsUrl());
  const b = await WsClient.connect(sim.wsUrl());
  assert.equal((await point(c.id, '0', a.sessionId)).json.data.length, 1);
  assert.equal((await point(c.id, '2', b.sessionId)).json.data.length, 1);
  const ids = [];
  for (let i = 0; i < 4; i++) {
    const t = await sim.control('POST', '/trigger', { type: 'stream.online', broadcaster: 'constreamer' });
    ids.push(t.json.message_ids[0]);
  }
  await waitFor('four notifications', () => a.of('notification').length + b.of('notification').length === 4);
  assert.equal(a.of('notification').length, 2, 'round robin over the two enabled shards');
  assert.equal(b.of('notification').length, 2);
  const n = a.of('notification')[0];
  assert.ok(ids.includes(n.metadata.message_id));
  assert.equal(n.metadata.subscription_type, 'stream.online');
  assert.equal(n.metadata.subscription_version, '1');
  assert.equal(n.payload.subscription.id, sub.id);
  assert.deepEqual(n.payload.subscription.transport, { method: 'conduit', conduit_id: c.id });
  assert.equal(n.payload.event.broadcaster_user_id, streamer.id);
  a.close();
  b.close();
});

test('a shard whose session closes becomes websocket_disconnected; re-pointed, it is enabled again', async () => {
  await deleteAll();
  const c = await conduit(1);
  await onlineSub(c.id);
  const a = await WsClient.connect(sim.wsUrl());
  await point(c.id, '0', a.sessionId);
  a.close();
  const shard = await waitFor('the shard to be disconnected', async () => {
    const s = (await sim.helix(app, 'GET', `/eventsub/conduits/shards?conduit_id=${c.id}`)).json.data[0];
    return s.status === 'websocket_disconnected' && s;
  });
  assert.equal(shard.transport.session_id, a.sessionId);
  assert.ok(shard.transport.disconnected_at);
  const subs = await sim.helix(app, 'GET', '/eventsub/subscriptions');
  assert.ok(subs.json.data.every((s) => s.status === 'enabled'), 'the conduit\'s subscriptions stay enabled');

  const b = await WsClient.connect(sim.wsUrl());
  await point(c.id, '0', b.sessionId);
  const closed = await sim.control('POST', '/eventsub/close', { code: 4006, session_id: b.sessionId });
  assert.equal(closed.json.closed, 1);
  await waitFor('the status of a close code', async () => (await sim.helix(app, 'GET', `/eventsub/conduits/shards?conduit_id=${c.id}`)).json.data[0].status === 'websocket_network_error');

  const d = await WsClient.connect(sim.wsUrl());
  const r = await point(c.id, '0', d.sessionId);
  assert.equal(r.json.data[0].status, 'enabled');
  await sim.control('POST', '/trigger', { type: 'stream.online', broadcaster: 'constreamer' });
  await d.next('notification');
  const view = (await sim.control('GET', '/conduits')).json.data.find((x) => x.id === c.id);
  assert.equal(view.shards[0].transport.session_id, d.sessionId);
  d.close();
});

test('a webhook shard is verified by a challenge, then receives signed notifications', async () => {
  await deleteAll();
  const receiver = await startReceiver();
  try {
    const c = await conduit(1);
    await onlineSub(c.id);
    const r = await sim.helix(app, 'PATCH', '/eventsub/conduits/shards', {
      conduit_id: c.id, shards: [{ id: '0', transport: { method: 'webhook', callback: receiver.url, secret: 'conduitsecret123' } }],
    });
    assert.equal(r.status, 202);
    assert.equal(r.json.data[0].status, 'webhook_callback_verification_pending');
    await waitFor('the webhook shard to be verified', async () => (await sim.helix(app, 'GET', `/eventsub/conduits/shards?conduit_id=${c.id}`)).json.data[0].status === 'enabled');
    await sim.control('POST', '/trigger', { type: 'stream.online', broadcaster: 'constreamer' });
    const n = await waitFor('a webhook notification', () => receiver.of('notification')[0]);
    assert.deepEqual(n.body.subscription.transport, { method: 'conduit', conduit_id: c.id });
    assert.match(n.headers['twitch-eventsub-message-signature'], /^sha256=[0-9a-f]{64}$/);
  } finally {
    receiver.close();
  }
});

test('a session_reconnect hand-over moves the shard to the new session; it stays enabled', async () => {
  await deleteAll();
  const c = await conduit(1);
  await onlineSub(c.id);
  const a = await WsClient.connect(sim.wsUrl());
  await point(c.id, '0', a.sessionId);
  await sim.control('POST', '/eventsub/reconnect', { session_id: a.sessionId });
  const msg = await a.next('session_reconnect');
  const b = await WsClient.connect(msg.payload.session.reconnect_url);
  const shard = (await sim.helix(app, 'GET', `/eventsub/conduits/shards?conduit_id=${c.id}`)).json.data[0];
  assert.equal(shard.status, 'enabled');
  assert.equal(shard.transport.session_id, b.sessionId);
  a.close();
  await sim.control('POST', '/trigger', { type: 'stream.online', broadcaster: 'constreamer' });
  const n = await b.next('notification');
  assert.equal(n.payload.subscription.transport.conduit_id, c.id);
  b.close();
});
