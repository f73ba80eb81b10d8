'use strict';
// Webhook fidelity: the signature against Twitch's published HMAC test vector, the challenge,
// the seven headers, retries with the same message id (failures and slow receivers),
// notification_failures_exceeded, authorization_revoked and user_removed revocations, the clock.
// The receivers here verify signatures with their own HMAC code, not the simulator's.

const test = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const path = require('node:path');
const { startSimAlone, startReceiver, defaultReceiver, waitFor, ROOT } = require('./harness');

const SECRET = 'this-is-the-hook-secret';
let sim;
let app;
let streamer;

test.before(async () => {
  sim = await startSimAlone(['--webhook-timeout', '1', '--webhook-retries', '2', '--webhook-retry-delay', '0.05', '--webhook-failure-limit', '6']);
  streamer = await sim.createUser('whstreamer');
  await sim.createUser('whfan');
  await sim.userToken('whstreamer', ['bits:read', 'channel:read:subscriptions']);
  app = await sim.appToken();
});
test.after(() => sim.stop());

const expected = (secret, id, timestamp, body) => 'sha256=' + crypto.createHmac('sha256', secret).update(id + timestamp + body).digest('hex');

async function subscribeWebhook(receiver, type = 'channel.cheer', version = '1') {
  const r = await sim.subscribe(app, type, version, { broadcaster_user_id: streamer.id }, { method: 'webhook', callback: receiver.url, secret: SECRET });
  assert.equal(r.status, 202, r.text);
  return r.json.data[0].id;
}

const enabled = (id) => waitFor('the subscription to be enabled', async () => (await sim.subscription(id)).status === 'enabled');

test('signature: Twitch\'s published HMAC test vector (twitch-rs twitch_api verify_request)', () => {
  const { signature } = require(path.join(ROOT, 'tools/twitch-sim/webhook.js'));
  const body = '{"subscription":{"id":"ae2ff348-e102-16be-a3eb-6830c1bf38d2","status":"enabled","type":"channel.follow","version":"1","condition":{"broadcaster_user_id":"44429626"},"transport":{"method":"webhook","callback":"null"},"created_at":"2021-02-19T23:47:00.7621315Z"},"event":{"user_id":"28408015","user_login":"testFromUser","user_name":"testFromUser","broadcaster_user_id":"44429626","broadcaster_user_login":"44429626","broadcaster_user_name":"testBroadcaster"}}';
  assert.equal(Buffer.byteLength(body), 458);
  assert.equal(signature('secretabcd', 'ae2ff348-e102-16be-a3eb-6830c1bf38d2', '2021-02-19T23:47:00.8091512Z', body),
    'sha256=d10f5bd9474b7ac7bd7105eb79c2d52768b4d0cd2a135982c3bf5a1d59a78823');
});

test('challenge answered as text/plain enables; notifications carry the seven headers and a valid signature', async () => {
  const receiver = await startReceiver();
  try {
    const id = await subscribeWebhook(receiver);
    await enabled(id);
    const [verification] = receiver.of('webhook_callback_verification');
    assert.equal(verification.body.subscription.status, 'webhook_callback_verification_pending');
    assert.equal(typeof verification.body.challenge, 'string');
    assert.deepEqual(verification.body.subscription.transport, { method: 'webhook', callback: receiver.url });
    const t = await sim.control('POST', '/trigger', { type: 'channel.cheer', broadcaster: 'whstreamer', user: 'whfan', bits: 250, message: 'Cheer250 nice' });
    assert.equal(t.json.delivered, 1);
    const n = await waitFor('the notification', () => receiver.of('notification')[0]);
    const h = n.headers;
    assert.equal(h['twitch-eventsub-message-id'], t.json.message_ids[0]);
    assert.equal(h['twitch-eventsub-message-retry'], '0');
    assert.equal(h['twitch-eventsub-message-type'], 'notification');
    assert.equal(h['twitch-eventsub-subscription-type'], 'channel.cheer');
    assert.equal(h['twitch-eventsub-subscription-version'], '1');
    assert.match(h['twitch-eventsub-message-timestamp'], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    assert.equal(h['twitch-eventsub-message-signature'], expected(SECRET, h['twitch-eventsub-message-id'], h['twitch-eventsub-message-timestamp'], n.raw));
    assert.match(h['content-type'], /^application\/json/);
    assert.equal(n.body.event.bits, 250);
    assert.equal(n.body.event.user_login, 'whfan');
    assert.equal(n.body.subscription.id, id);
    assert.equal(n.body.subscription.status, 'enabled');
    const d = await sim.deliveries({ message_id: t.json.message_ids[0] });
    assert.equal(d[0].status, 204);
    assert.equal(d[0].outcome, 'delivered');
  } finally {
    receiver.close();
  }
});

test('a wrong challenge answer fails verification; no events follow', async () => {
  for (const answer of [
    (res, challenge) => res.writeHead(200, { 'Content-Type': 'text/plain' }).end(challenge + '\n'),
    (res, challenge) => res.writeHead(200, { 'Content-Type': 'application/json' }).end(challenge),
    (res, challenge) => res.writeHead(202, { 'Content-Type': 'text/plain' }).end(challenge),
  ]) {
    const receiver = await startReceiver((req, raw, res) => answer(res, JSON.parse(raw).challenge));
    try {
      const id = await subscribeWebhook(receiver, 'channel.subscribe');
      await waitFor('verification failure', async () => (await sim.subscription(id)).status === 'webhook_callback_verification_failed');
      const t = await sim.control('POST', '/trigger', { type: 'channel.subscribe', broadcaster: 'whstreamer' });
      assert.equal(t.json.delivered, 0);
      await sim.helix(app, 'DELETE', `/eventsub/subscriptions?id=${id}`);
    } finally {
      receiver.close();
    }
  }
});

test('failed deliveries are retried with the same message id and a growing retry counter', async () => {
  let failuresLeft = 2;
  const receiver = await startReceiver((req, raw, res) => {
    if (req.headers['twitch-eventsub-message-type'] === 'notification' && failuresLeft-- > 0) res.writeHead(500).end();
    else defaultReceiver(req, raw, res);
  });
  try {
    const id = await subscribeWebhook(receiver, 'channel.subscription.gift');
    await enabled(id);
    const t = await sim.control('POST', '/trigger', { type: 'channel.subscription.gift', broadcaster: 'whstreamer', anonymous: true, total: 5 });
    const attempts = await waitFor('three attempts', () => receiver.of('notification').length === 3 && receiver.of('notification'));
    assert.deepEqual(attempts.map((a) => a.headers['twitch-eventsub-message-id']), Array(3).fill(t.json.message_ids[0]));
    assert.deepEqual(attempts.map((a) => a.headers['twitch-eventsub-message-retry']), ['0', '1', '2']);
    for (const a of attempts) {
      assert.equal(a.headers['twitch-eventsub-message-signature'], expected(SECRET, a.headers['twitch-eventsub-message-id'], a.headers['twitch-eventsub-message-timestamp'], a.raw));
    }
    assert.equal(attempts[0].body.event.is_anonymous, true);
    assert.equal(attempts[0].body.event.user_id, null);
    assert.equal((await sim.subscription(id)).status, 'enabled', 'two failures stay below the limit');
  } finally {
    receiver.close();
  }
});

test('a slow receiver counts as a failure and is retried', async () => {
  let first = true;
  const receiver = await startReceiver((req, raw, res) => {
    if (req.headers['twitch-eventsub-message-type'] === 'notification' && first) {
      first = false;
      setTimeout(() => res.writeHead(204).end(), 2500);
    } else {
      defaultReceiver(req, raw, res);
    }
  });
  try {
    const id = await subscribeWebhook(receiver, 'channel.subscription.message');
    await enabled(id);
    const t = await sim.control('POST', '/trigger', { type: 'channel.subscription.message', broadcaster: 'whstreamer' });
    const d = await waitFor('a retry after the timeout', async () => {
      const list = await sim.deliveries({ message_id: t.json.message_ids[0] });
      return list.length === 2 && list;
    });
    assert.equal(d[0].error, 'timeout');
    assert.equal(d[1].outcome, 'delivered');
    assert.equal(d[1].retry, 1);
  } finally {
    receiver.close();
  }
});

test('repeated failures: notification_failures_exceeded revocation, then silence', async () => {
  const receiver = await startReceiver((req, raw, res) => {
    if (req.headers['twitch-eventsub-message-type'] === 'notification') res.writeHead(503).end();
    else defaultReceiver(req, raw, res);
  });
  await sim.userToken('whstreamer', ['channel:read:polls']);
  try {
    const id = await subscribeWebhook(receiver, 'channel.poll.begin');
    await enabled(id);
    await sim.control('POST', '/trigger', { type: 'channel.poll.begin', broadcaster: 'whstreamer' });
    await sim.control('POST', '/trigger', { type: 'channel.poll.begin', broadcaster: 'whstreamer' });
    const revocation = await waitFor('the revocation', () => receiver.of('revocation')[0]);
    assert.equal(revocation.body.subscription.status, 'notification_failures_exceeded');
    assert.equal(revocation.body.event, undefined);
    assert.equal(revocation.headers['twitch-eventsub-message-signature'], expected(SECRET, revocation.headers['twitch-eventsub-message-id'], revocation.headers['twitch-eventsub-message-timestamp'], revocation.raw));
    assert.equal((await sim.subscription(id)).status, 'notification_failures_exceeded');
    assert.equal(receiver.of('notification').length, 6);
    const t = await sim.control('POST', '/trigger', { type: 'channel.poll.begin', broadcaster: 'whstreamer' });
    assert.equal(t.json.delivered, 0);
  } finally {
    receiver.close();
  }
});

test('revocations when the broadcaster revokes the grant (authorization_revoked) or is deleted (user_removed)', async () => {
  const receiver = await startReceiver();
  try {
    const gone = await sim.createUser('whgone');
    await sim.userToken('whgone', ['bits:read']);
    const cheer = await subscribeWebhook(receiver, 'channel.subscribe');
    const online = (await sim.subscribe(app, 'stream.online', '1', { broadcaster_user_id: gone.id }, { method: 'webhook', callback: receiver.url, secret: SECRET })).json.data[0].id;
    await enabled(cheer);
    await enabled(online);
    const r = await sim.control('POST', '/auth/revoke', { login: 'whstreamer' });
    assert.ok(r.json.revoked_subscriptions >= 1);
    const rev = await waitFor('authorization_revoked', () => receiver.of('revocation').find((x) => x.body.subscription.id === cheer));
    assert.equal(rev.body.subscription.status, 'authorization_revoked');
    assert.equal(rev.headers['twitch-eventsub-subscription-type'], 'channel.subscribe');
    await sim.control('DELETE', '/users/whgone');
    const removed = await waitFor('user_removed', () => receiver.of('revocation').find((x) => x.body.subscription.id === online));
    assert.equal(removed.body.subscription.status, 'user_removed');
  } finally {
    receiver.close();
  }
});

test('the clock offset skews message timestamps; duplicates reuse the message id', async () => {
  const receiver = await startReceiver();
  try {
    const fan = await sim.createUser('whclock');
    const id = (await sim.subscribe(app, 'stream.online', '1', { broadcaster_user_id: fan.id }, { method: 'webhook', callback: receiver.url, secret: SECRET })).json.data[0].id;
    await enabled(id);
    await sim.control('POST', '/clock', { offset_seconds: -900 });
    const t = await sim.control('POST', '/trigger', { type: 'stream.online', broadcaster: 'whclock', duplicate: true });
    const both = await waitFor('two copies', () => receiver.of('notification').length === 2 && receiver.of('notification'));
    assert.deepEqual(both.map((n) => n.headers['twitch-eventsub-message-id']), [t.json.message_ids[0], t.json.message_ids[0]]);
    const age = Date.now() - Date.parse(both[0].headers['twitch-eventsub-message-timestamp']);
    assert.ok(age > 850000 && age < 950000, `timestamp about 15 minutes old, got ${age} ms`);
    assert.equal((await sim.control('GET', '/clock')).json.offset_seconds, -900);
  } finally {
    await sim.control('POST', '/clock', { offset_seconds: 0 });
    receiver.close();
  }
});
