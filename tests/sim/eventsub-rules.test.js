'use strict';
// EventSub subscription rules: token type per transport, authorization (scopes, broadcaster
// consent, moderators, chat), bad conditions and transports, 409, 410, costs, 300 per session,
// 3 connections per user, Get filters and Delete.

const test = require('node:test');
const assert = require('node:assert/strict');
const { startSimAlone, startReceiver, WsClient, waitFor } = require('./harness');

let sim;
let app;
let receiver;
const users = {};

test.before(async () => {
  sim = await startSimAlone();
  receiver = await startReceiver();
  for (const login of ['rviewer', 'rstreamer', 'rmod', 'rother']) users[login] = await sim.createUser(login);
  await sim.control('POST', '/moderators', { user: 'rmod', broadcaster: 'rstreamer' });
  app = await sim.appToken();
});
test.after(() => {
  sim.stop();
  receiver.close();
});

const webhook = (extra = {}) => ({ method: 'webhook', callback: receiver.url, secret: 's3cr3t-s3cr3t', ...extra });
const ws = (session) => ({ method: 'websocket', session_id: session });
const bc = (login) => ({ broadcaster_user_id: users[login].id });

test('webhook needs an app token, websocket a user token (401)', async () => {
  const c = await WsClient.connect(sim.wsUrl());
  const user = (await sim.userToken('rviewer', [])).access_token;
  const a = await sim.subscribe(user, 'stream.online', '1', bc('rstreamer'), webhook());
  assert.equal(a.status, 401);
  assert.equal(a.json.error, 'Unauthorized');
  const b = await sim.subscribe(app, 'stream.online', '1', bc('rstreamer'), ws(c.sessionId));
  assert.equal(b.status, 401);
  c.close();
});

test('a WebSocket create answers 202 with the documented shape, enabled at once', async () => {
  const c = await WsClient.connect(sim.wsUrl());
  const user = (await sim.userToken('rviewer', [])).access_token;
  const r = await sim.subscribe(user, 'stream.online', '1', bc('rstreamer'), ws(c.sessionId));
  assert.equal(r.status, 202);
  assert.deepEqual(Object.keys(r.json).sort(), ['data', 'max_total_cost', 'total', 'total_cost']);
  const sub = r.json.data[0];
  assert.deepEqual(Object.keys(sub).sort(), ['condition', 'cost', 'created_at', 'id', 'status', 'transport', 'type', 'version']);
  assert.equal(sub.status, 'enabled');
  assert.equal(sub.cost, 1);
  assert.equal(sub.transport.session_id, c.sessionId);
  assert.ok(sub.transport.connected_at);
  assert.equal(r.json.max_total_cost, 10);
  assert.equal(r.json.total_cost, 1);
  c.close();
});

test('missing scope or the wrong user: 403; the right token: 202 cost 0', async () => {
  const c = await WsClient.connect(sim.wsUrl());
  const cond = { broadcaster_user_id: users.rstreamer.id, user_id: users.rviewer.id };
  const noScope = (await sim.userToken('rviewer', [])).access_token;
  const r1 = await sim.subscribe(noScope, 'channel.chat.message', '1', cond, ws(c.sessionId));
  assert.equal(r1.status, 403);
  assert.deepEqual(r1.json, { error: 'Forbidden', status: 403, message: 'subscription missing proper authorization' });
  const otherUser = (await sim.userToken('rother', ['user:read:chat'])).access_token;
  assert.equal((await sim.subscribe(otherUser, 'channel.chat.message', '1', cond, ws(c.sessionId))).status, 403);
  const viewer = (await sim.userToken('rviewer', ['user:read:chat'])).access_token;
  const ok = await sim.subscribe(viewer, 'channel.chat.message', '1', cond, ws(c.sessionId));
  assert.equal(ok.status, 202);
  assert.equal(ok.json.data[0].cost, 0);
  // A viewer cannot read the broadcaster's subscriptions.
  assert.equal((await sim.subscribe(viewer, 'channel.subscribe', '1', bc('rstreamer'), ws(c.sessionId))).status, 403);
  c.close();
});

test('webhooks: broadcaster consent (any user token flow) with the scope; follows via a moderator', async () => {
  const before = await sim.subscribe(app, 'channel.cheer', '1', bc('rstreamer'), webhook());
  assert.equal(before.status, 403);
  await sim.userToken('rstreamer', ['bits:read']);
  const after = await sim.subscribe(app, 'channel.cheer', '1', bc('rstreamer'), webhook());
  assert.equal(after.status, 202);
  assert.equal(after.json.data[0].status, 'webhook_callback_verification_pending');
  assert.equal(after.json.data[0].cost, 0);
  assert.equal(after.json.max_total_cost, 10000);
  assert.deepEqual(Object.keys(after.json.data[0].transport).sort(), ['callback', 'method'], 'the secret is never echoed');
  const followCond = { broadcaster_user_id: users.rstreamer.id, moderator_user_id: users.rmod.id };
  assert.equal((await sim.subscribe(app, 'channel.follow', '2', followCond, webhook())).status, 403);
  await sim.userToken('rmod', ['moderator:read:followers']);
  assert.equal((await sim.subscribe(app, 'channel.follow', '2', followCond, webhook())).status, 202);
  await sim.userToken('rother', ['moderator:read:followers']);
  const notMod = await sim.subscribe(app, 'channel.follow', '2', { broadcaster_user_id: users.rstreamer.id, moderator_user_id: users.rother.id }, webhook());
  assert.equal(notMod.status, 403, 'rother is no moderator');
  // Chat over webhooks needs user:bot from the reader and channel:bot from the broadcaster (or a moderator reader).
  const chatCond = { broadcaster_user_id: users.rstreamer.id, user_id: users.rother.id };
  await sim.userToken('rother', ['user:read:chat']);
  assert.equal((await sim.subscribe(app, 'channel.chat.notification', '1', chatCond, webhook())).status, 403);
  await sim.userToken('rother', ['user:read:chat', 'user:bot']);
  await sim.userToken('rstreamer', ['channel:bot']);
  assert.equal((await sim.subscribe(app, 'channel.chat.notification', '1', chatCond, webhook())).status, 202);
});

test('409 on a duplicate type+condition+transport; 429 past three with the same condition', async () => {
  const cond = bc('rother');
  const first = await sim.subscribe(app, 'stream.offline', '1', cond, webhook());
  assert.equal(first.status, 202);
  const dup = await sim.subscribe(app, 'stream.offline', '1', cond, webhook());
  assert.equal(dup.status, 409);
  assert.equal(dup.json.error, 'Conflict');
  assert.equal((await sim.subscribe(app, 'stream.offline', '1', cond, webhook({ callback: receiver.url + '?2' }))).status, 202);
  assert.equal((await sim.subscribe(app, 'stream.offline', '1', cond, webhook({ callback: receiver.url + '?3' }))).status, 202);
  assert.equal((await sim.subscribe(app, 'stream.offline', '1', cond, webhook({ callback: receiver.url + '?4' }))).status, 429);
});

test('410 for removed versions; 400 for unknown types, versions, conditions and transports', async () => {
  const follow1 = await sim.subscribe(app, 'channel.follow', '1', bc('rstreamer'), webhook());
  assert.equal(follow1.status, 410);
  assert.equal(follow1.json.error, 'Gone');
  assert.equal((await sim.subscribe(app, 'channel.hype_train.begin', '1', bc('rstreamer'), webhook())).status, 410);
  const cases = [
    ['channel.nope', '1', bc('rstreamer'), webhook()],
    ['stream.online', '7', bc('rstreamer'), webhook()],
    ['stream.online', '1', {}, webhook()],
    ['stream.online', '1', { broadcaster_user_id: 'abc' }, webhook()],
    ['stream.online', '1', { broadcaster_user_id: '1' }, webhook()],
    ['stream.online', '1', { ...bc('rstreamer'), extra: '1' }, webhook()],
    ['channel.raid', '1', { from_broadcaster_user_id: users.rstreamer.id, to_broadcaster_user_id: users.rother.id }, webhook()],
    ['channel.raid', '1', {}, webhook()],
    ['stream.online', '1', bc('rstreamer'), webhook({ secret: 'short' })],
    ['stream.online', '1', bc('rstreamer'), webhook({ callback: 'http://example.com/hook' })],
    ['stream.online', '1', bc('rstreamer'), { method: 'carrier-pigeon' }],
    ['stream.online', '1', bc('rstreamer'), undefined],
  ];
  for (const [type, version, condition, transport] of cases) {
    const r = await sim.subscribe(app, type, version, condition, transport);
    assert.equal(r.status, 400, `${type} v${version} ${JSON.stringify(condition)} ${JSON.stringify(transport)}: ${r.text}`);
    assert.equal(r.json.error, 'Bad Request');
  }
  const raidTo = await sim.subscribe(app, 'channel.raid', '1', { to_broadcaster_user_id: users.rstreamer.id, from_broadcaster_user_id: '' }, webhook());
  assert.equal(raidTo.status, 202, 'an empty alternative key is ignored');
  assert.deepEqual(raidTo.json.data[0].condition, { to_broadcaster_user_id: users.rstreamer.id });
});

test('WebSocket cost: max_total_cost 10 per client+user; no-auth types cost 1', async () => {
  const login = 'costviewer';
  await sim.createUser(login);
  const streamers = [];
  for (let i = 0; i < 11; i++) streamers.push(await sim.createUser(`coststreamer${i}`));
  const token = (await sim.userToken(login, [])).access_token;
  const c = await WsClient.connect(sim.wsUrl());
  for (let i = 0; i < 10; i++) {
    const r = await sim.subscribe(token, 'stream.online', '1', { broadcaster_user_id: streamers[i].id }, ws(c.sessionId));
    assert.equal(r.status, 202);
    assert.equal(r.json.total_cost, i + 1);
  }
  const over = await sim.subscribe(token, 'stream.online', '1', { broadcaster_user_id: streamers[10].id }, ws(c.sessionId));
  assert.equal(over.status, 429);
  // A broadcaster who authorized the client makes the subscription free.
  await sim.userToken('coststreamer10', []);
  assert.equal((await sim.subscribe(token, 'stream.online', '1', { broadcaster_user_id: streamers[10].id }, ws(c.sessionId))).status, 202);
  // Deleting one frees its cost.
  const list = await sim.helix(token, 'GET', '/eventsub/subscriptions');
  assert.equal(list.json.total, 11);
  assert.equal(list.json.total_cost, 10);
  assert.equal((await sim.helix(token, 'DELETE', `/eventsub/subscriptions?id=${list.json.data[0].id}`)).status, 204);
  assert.equal((await sim.helix(token, 'DELETE', `/eventsub/subscriptions?id=${list.json.data[0].id}`)).status, 404);
  assert.equal((await sim.helix(token, 'GET', '/eventsub/subscriptions')).json.total_cost, 9);
  c.close();
});

test('300 subscriptions per WebSocket session', async () => {
  const reader = await sim.createUser('bulkreader');
  const token = (await sim.userToken('bulkreader', ['user:read:chat'])).access_token;
  const c = await WsClient.connect(sim.wsUrl());
  const ids = [];
  for (let i = 0; i < 301; i++) ids.push((await sim.createUser(`bulk${i}`)).id);
  for (let i = 0; i < 300; i++) {
    const r = await sim.subscribe(token, 'channel.chat.message', '1', { broadcaster_user_id: ids[i], user_id: reader.id }, ws(c.sessionId));
    assert.equal(r.status, 202, r.text);
  }
  const over = await sim.subscribe(token, 'channel.chat.message', '1', { broadcaster_user_id: ids[300], user_id: reader.id }, ws(c.sessionId));
  assert.equal(over.status, 429);
  c.close();
});

test('at most 3 WebSocket connections with subscriptions per user; a session belongs to its user', async () => {
  const reader = await sim.createUser('threeconns');
  const token = (await sim.userToken('threeconns', ['user:read:chat'])).access_token;
  const sockets = [];
  for (let i = 0; i < 4; i++) sockets.push(await WsClient.connect(sim.wsUrl()));
  const sub = (i, b) => sim.subscribe(token, 'channel.chat.message', '1', { broadcaster_user_id: users[b].id, user_id: reader.id }, ws(sockets[i].sessionId));
  for (let i = 0; i < 3; i++) assert.equal((await sub(i, 'rstreamer')).status, 202);
  assert.equal((await sub(3, 'rother')).status, 429);
  sockets[0].close();
  await sockets[0].waitClosed();
  await waitFor('a freed connection slot', async () => (await sub(3, 'rother')).status === 202);
  const stranger = (await sim.userToken('rviewer', [])).access_token;
  const foreign = await sim.subscribe(stranger, 'stream.online', '1', bc('rother'), ws(sockets[1].sessionId));
  assert.equal(foreign.status, 400, 'the session belongs to another user');
  assert.equal((await sim.subscribe(stranger, 'stream.online', '1', bc('rother'), ws('AQoQnosuchsession'))).status, 400);
  for (const s of sockets) s.close();
});

test('Get EventSub Subscriptions: app token lists webhooks, user token its WebSocket subscriptions; filters exclusive', async () => {
  const all = await sim.helix(app, 'GET', '/eventsub/subscriptions');
  assert.equal(all.status, 200);
  assert.deepEqual(Object.keys(all.json).sort(), ['data', 'max_total_cost', 'pagination', 'total', 'total_cost']);
  assert.ok(all.json.data.every((s) => s.transport.method === 'webhook'));
  const byType = await sim.helix(app, 'GET', '/eventsub/subscriptions?type=channel.cheer');
  assert.ok(byType.json.data.length >= 1 && byType.json.data.every((s) => s.type === 'channel.cheer'));
  const byUser = await sim.helix(app, 'GET', `/eventsub/subscriptions?user_id=${users.rmod.id}`);
  assert.ok(byUser.json.data.every((s) => Object.values(s.condition).includes(users.rmod.id)));
  await waitFor('verifications', async () => (await sim.helix(app, 'GET', '/eventsub/subscriptions?status=webhook_callback_verification_pending')).json.data.length === 0);
  assert.ok((await sim.helix(app, 'GET', '/eventsub/subscriptions?status=enabled')).json.data.length >= 1);
  assert.equal((await sim.helix(app, 'GET', '/eventsub/subscriptions?status=enabled&type=stream.online')).status, 400);
  const user = (await sim.userToken('rviewer', [])).access_token;
  const mine = await sim.helix(user, 'GET', '/eventsub/subscriptions');
  assert.ok(mine.json.data.every((s) => s.transport.method === 'websocket'));
  assert.equal(mine.json.max_total_cost, 10);
  const webhookId = all.json.data[0].id;
  assert.equal((await sim.helix(user, 'DELETE', `/eventsub/subscriptions?id=${webhookId}`)).status, 404, 'not visible to a user token');
  assert.equal((await sim.helix(app, 'DELETE', '/eventsub/subscriptions')).status, 400);
});
