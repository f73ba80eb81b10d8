'use strict';
// EventSub WebSocket behaviour: welcome, keepalive, the subscribe window (4003), inbound traffic
// (4001), unanswered pings (4002), reconnect hand-over, revocations, close codes on demand and
// disabled subscriptions after a drop. Plain `ws` clients only.

const test = require('node:test');
const assert = require('node:assert/strict');
const { startSimAlone, WsClient, waitFor } = require('./harness');

let sim;
let viewer;
let streamers;
let token;

test.before(async () => {
  sim = await startSimAlone(['--ws-default-keepalive', '1', '--ws-subscribe-timeout', '1.5', '--ws-ping-interval', '1', '--ws-reconnect-grace', '3']);
  viewer = await sim.createUser('wsviewer');
  streamers = [];
  for (let i = 0; i < 4; i++) streamers.push(await sim.createUser(`wsstreamer${i}`));
  token = (await sim.userToken('wsviewer', ['user:read:chat'])).access_token;
});
test.after(() => sim.stop());

const chatSub = (session, broadcaster) => sim.subscribe(token, 'channel.chat.message', '1',
  { broadcaster_user_id: broadcaster.id, user_id: viewer.id }, { method: 'websocket', session_id: session });

test('welcome: session id, status, keepalive default and clamped custom values, reconnect_url null', async () => {
  const c = await WsClient.connect(sim.wsUrl());
  const { metadata, payload } = c.welcome;
  assert.equal(metadata.message_type, 'session_welcome');
  assert.match(metadata.message_id, /^[0-9a-f-]{36}$/);
  assert.match(metadata.message_timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
  assert.equal(payload.session.status, 'connected');
  assert.equal(payload.session.keepalive_timeout_seconds, 1);
  assert.equal(payload.session.reconnect_url, null);
  assert.ok(payload.session.id.length > 10);
  c.close();
  for (const [asked, got] of [['5', 10], ['30', 30], ['900', 600]]) {
    const k = await WsClient.connect(sim.wsUrl(`?keepalive_timeout_seconds=${asked}`));
    assert.equal(k.welcome.payload.session.keepalive_timeout_seconds, got);
    k.close();
  }
});

test('keepalive is sent when the session is quiet', async () => {
  const c = await WsClient.connect(sim.wsUrl());
  await chatSub(c.sessionId, streamers[0]);
  const ka = await c.next('session_keepalive', () => true, 3000);
  assert.deepEqual(ka.payload, {});
  c.close();
});

test('no subscription within the window: close 4003', async () => {
  const c = await WsClient.connect(sim.wsUrl());
  const closed = await c.waitClosed(4000);
  assert.equal(closed.code, 4003);
});

test('a subscription in time keeps the session open past the window', async () => {
  const c = await WsClient.connect(sim.wsUrl());
  const r = await chatSub(c.sessionId, streamers[0]);
  assert.equal(r.status, 202);
  await c.next('session_keepalive', () => true, 3000);
  await c.next('session_keepalive', () => true, 3000);
  await c.next('session_keepalive', () => true, 3000);
  assert.equal(c.closed, null, 'still open after the 1.5 s window');
  c.close();
});

test('client data frame: close 4001 and its subscriptions are disabled', async () => {
  const c = await WsClient.connect(sim.wsUrl());
  const r = await chatSub(c.sessionId, streamers[1]);
  c.sock.send('hello');
  assert.equal((await c.waitClosed()).code, 4001);
  const sub = await waitFor('the subscription to leave enabled', async () => {
    const s = await sim.subscription(r.json.data[0].id);
    return s.status !== 'enabled' && s;
  });
  assert.equal(sub.status, 'websocket_received_inbound_traffic');
  assert.ok(sub.transport.disconnected_at);
});

test('unanswered pings: close 4002', async () => {
  const c = await WsClient.connect(sim.wsUrl(), { autoPong: false });
  await chatSub(c.sessionId, streamers[2]);
  assert.equal((await c.waitClosed()).code, 4002);
});

test('notifications, then a drop disables the subscription (websocket_disconnected), still listed via Helix', async () => {
  const c = await WsClient.connect(sim.wsUrl());
  const r = await chatSub(c.sessionId, streamers[3]);
  const subId = r.json.data[0].id;
  const t = await sim.control('POST', '/trigger', { type: 'channel.chat.message', broadcaster: 'wsstreamer3', user: 'wsviewer', message: 'hi Kappa' });
  assert.equal(t.json.delivered, 1);
  const n = await c.next('notification');
  assert.equal(n.metadata.message_id, t.json.message_ids[0]);
  assert.equal(n.metadata.subscription_type, 'channel.chat.message');
  assert.equal(n.metadata.subscription_version, '1');
  assert.deepEqual(n.payload.subscription.transport, { method: 'websocket', session_id: c.sessionId });
  assert.equal(n.payload.event.message.text, 'hi Kappa');
  c.close();
  await c.waitClosed();
  const listed = await waitFor('the subscription to be listed as disconnected', async () => {
    const g = await sim.helix(token, 'GET', `/eventsub/subscriptions?subscription_id=${subId}`);
    return g.json.data[0]?.status === 'websocket_disconnected' && g.json.data[0];
  });
  assert.ok(listed.transport.disconnected_at);
  const again = await sim.control('POST', '/trigger', { type: 'channel.chat.message', broadcaster: 'wsstreamer3' });
  assert.equal(again.json.delivered, 0);
  const late = await sim.subscribe(token, 'stream.online', '1', { broadcaster_user_id: streamers[3].id }, { method: 'websocket', session_id: c.sessionId });
  assert.equal(late.status, 400, 'a session that ended cannot take subscriptions');
});

test('close codes on demand map to subscription statuses', async () => {
  for (const [code, status] of [[4000, 'websocket_internal_error'], [4005, 'websocket_network_timeout'], [4006, 'websocket_network_error'], [4007, 'websocket_failed_to_reconnect']]) {
    const c = await WsClient.connect(sim.wsUrl());
    const r = await chatSub(c.sessionId, streamers[0]);
    const res = await sim.control('POST', '/eventsub/close', { code, session_id: c.sessionId });
    assert.equal(res.json.closed, 1);
    assert.equal((await c.waitClosed()).code, code);
    assert.equal((await sim.subscription(r.json.data[0].id)).status, status);
  }
});

test('revocation message, then nothing more for that subscription', async () => {
  const c = await WsClient.connect(sim.wsUrl());
  const r = await chatSub(c.sessionId, streamers[1]);
  const id = r.json.data[0].id;
  await sim.control('POST', '/eventsub/revoke', { subscription_id: id, status: 'authorization_revoked' });
  const rev = await c.next('revocation');
  assert.equal(rev.payload.subscription.id, id);
  assert.equal(rev.payload.subscription.status, 'authorization_revoked');
  assert.equal(rev.metadata.subscription_type, 'channel.chat.message');
  assert.equal(rev.payload.event, undefined);
  const t = await sim.control('POST', '/trigger', { type: 'channel.chat.message', broadcaster: 'wsstreamer1' });
  assert.equal(t.json.delivered, 0);
  c.close();
});

test('reconnect hand-over: new URL, subscriptions carried over, nothing lost, old closed 4004', async () => {
  const old = await WsClient.connect(sim.wsUrl());
  const r = await chatSub(old.sessionId, streamers[2]);
  const subId = r.json.data[0].id;
  const sent = [];
  const fire = async () => sent.push(...(await sim.control('POST', '/trigger', { type: 'channel.chat.message', broadcaster: 'wsstreamer2' })).json.message_ids);
  await fire();
  assert.equal((await sim.control('POST', '/eventsub/reconnect', {})).json.sessions >= 1, true);
  const rec = await old.next('session_reconnect');
  const reconnectAt = Date.now();
  assert.equal(rec.payload.session.status, 'reconnecting');
  assert.equal(rec.payload.session.keepalive_timeout_seconds, null);
  assert.match(rec.payload.session.reconnect_url, /^ws:\/\/127\.0\.0\.1:\d+\/ws\?reconnect_id=/);
  await fire(); // during the hand-over, before the new connection
  const fresh = await WsClient.connect(rec.payload.session.reconnect_url);
  await fire(); // after the new welcome
  assert.notEqual(fresh.sessionId, old.sessionId);
  // the old socket stays open until the grace after session_reconnect is over (3 s here,
  // Twitch's 30 s by default), then 4004
  assert.equal(old.closed, null, 'the old socket is kept during the grace period');
  assert.equal((await old.waitClosed(5000)).code, 4004);
  assert.ok(Date.now() - reconnectAt >= 2900, `closed ${Date.now() - reconnectAt} ms after session_reconnect`);
  const received = () => [...old.of('notification'), ...fresh.of('notification')].map((m) => m.metadata.message_id);
  await waitFor('every notification on one of the sockets', () => sent.every((id) => received().includes(id)));
  assert.equal(new Set(received()).size, received().length, 'no duplicates');
  const sub = await sim.subscription(subId);
  assert.equal(sub.status, 'enabled');
  assert.equal(sub.transport.session_id, fresh.sessionId);
  await fresh.next('session_keepalive', () => true, 3000);
  assert.equal(fresh.closed, null, 'the new session has subscriptions: no 4003');
  fresh.close();
});

test('reconnect not followed within the grace period: 4004, subscriptions failed to reconnect', async () => {
  const c = await WsClient.connect(sim.wsUrl());
  const r = await chatSub(c.sessionId, streamers[3]);
  await sim.control('POST', '/eventsub/reconnect', { session_id: c.sessionId });
  await c.next('session_reconnect');
  assert.equal((await c.waitClosed(6000)).code, 4004);
  assert.equal((await sim.subscription(r.json.data[0].id)).status, 'websocket_failed_to_reconnect');
});

test('an unknown reconnect id: close 4007', async () => {
  const c = new WsClient(sim.wsUrl('?reconnect_id=nope'));
  assert.equal((await c.waitClosed()).code, 4007);
  assert.equal(c.messages.length, 0);
});

test('bad keepalive_timeout_seconds is refused at the handshake', async () => {
  const c = new WsClient(sim.wsUrl('?keepalive_timeout_seconds=abc'));
  await c.waitClosed();
  assert.equal(c.messages.length, 0);
});
