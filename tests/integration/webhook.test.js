'use strict';
// POST /eventsub/webhook: challenge, signatures, the 10-minute window, dedupe, revocation,
// caps, and every EventSub type pushed live to a WebSocket client.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const h = require('../lib/harness');

let sev;
before(async () => { sev = await h.startSev(); });
after(async () => { const r = await sev.stop(); assert.equal(r.code, 0, 'sev exits 0 on SIGTERM'); });

async function eventsOf(streamer) {
  const r = await fetch(`${sev.url}/api/streamers/${streamer}/events?limit=100`);
  if (r.status === 404) return [];
  assert.equal(r.status, 200);
  return (await r.json()).events;
}

test('answers the verification challenge verbatim as text/plain', async () => {
  const challenge = 'pogchamp-kappa-360noscope-vohiyo';
  const body = { challenge, subscription: { id: crypto.randomUUID(), status: 'webhook_callback_verification_pending', type: 'channel.follow', version: '2', condition: { broadcaster_user_id: '1' }, transport: { method: 'webhook', callback: 'x' }, created_at: new Date().toISOString() } };
  const r = await h.postWebhook(sev, { type: 'webhook_callback_verification', body });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/plain/);
  assert.equal(await r.text(), challenge);
});

test('a challenge with a bad signature gets 403 and no echo', async () => {
  const body = { challenge: 'abc', subscription: { id: 'x', type: 'channel.follow' } };
  const r = await h.postWebhook(sev, { type: 'webhook_callback_verification', body, secret: 'wrong-secret-000' });
  assert.equal(r.status, 403);
  assert.doesNotMatch(await r.text(), /^abc$/);
});

test('a signed notification is stored and answered 204; a redelivery is stored once', async () => {
  const body = h.followBody('redeliv', 'alice');
  const id = crypto.randomUUID();
  const first = await h.postWebhook(sev, { body, id });
  assert.equal(first.status, 204);
  const again = await h.postWebhook(sev, { body, id, headers: { 'Twitch-Eventsub-Message-Retry': '1' } });
  assert.equal(again.status, 204);
  const events = await eventsOf('redeliv');
  assert.equal(events.filter((e) => e.id === id).length, 1);
  const e = events[0];
  assert.equal(e.type, 'channel.follow');
  assert.equal(e.streamer_login, 'redeliv');
  assert.equal(e.viewer_login, 'alice');
  assert.equal(e.viewer_name, 'Alice');
  assert.equal(e.summary, 'Alice followed');
  assert.deepEqual(e.data, body.event);
});

test('forged, altered, stale, future and unsigned requests are rejected and not stored', async () => {
  const body = h.followBody('forged', 'mallory');
  const raw = JSON.stringify(body);
  const cases = [
    { name: 'wrong secret', opts: { body, secret: 'not-the-secret' }, status: 403 },
    { name: 'no signature', opts: { body, headers: { 'Twitch-Eventsub-Message-Signature': undefined } }, status: 403 },
    { name: 'no message id', opts: { body, headers: { 'Twitch-Eventsub-Message-Id': undefined } }, status: 403 },
    { name: 'stale (11 minutes)', opts: { body, timestamp: new Date(Date.now() - 11 * 60000).toISOString() }, status: 403 },
    { name: 'future (11 minutes)', opts: { body, timestamp: new Date(Date.now() + 11 * 60000).toISOString() }, status: 403 },
    { name: 'bad timestamp', opts: { body, timestamp: 'yesterday' }, status: 403 },
  ];
  for (const c of cases) {
    const r = await h.postWebhook(sev, c.opts);
    assert.equal(r.status, c.status, c.name);
    const j = await r.json();
    assert.equal(typeof j.error, 'string', c.name);
  }
  // altered body: signed over one body, sent with another
  const id = crypto.randomUUID();
  const ts = new Date().toISOString();
  const sig = h.sign(sev.secret, id, ts, raw);
  const altered = raw.replace('mallory', 'mall0ry');
  const r = await fetch(sev.url + '/eventsub/webhook', {
    method: 'POST', body: altered,
    headers: { 'Twitch-Eventsub-Message-Id': id, 'Twitch-Eventsub-Message-Timestamp': ts, 'Twitch-Eventsub-Message-Signature': sig, 'Twitch-Eventsub-Message-Type': 'notification', 'Content-Type': 'application/json' },
  });
  assert.equal(r.status, 403);
  assert.deepEqual(await eventsOf('forged'), []);
  assert.match(sev.proc.output, /msg=webhook.rejected status=403 reason="signature does not match"/);
});

test('an oversized body is refused with 413', async () => {
  const body = h.followBody('bigone', 'alice', { padding: 'x'.repeat(300 * 1024) });
  const r = await h.postWebhook(sev, { body });
  assert.equal(r.status, 413);
  assert.deepEqual(await eventsOf('bigone'), []);
});

test('signed bodies that are not JSON objects get 400 and nothing crashes', async () => {
  for (const body of ['not json', '[]']) {
    const r = await h.postWebhook(sev, { body });
    assert.equal(r.status, 400, body);
  }
  const r = await h.postWebhook(sev, { body: h.followBody('x1', 'y1'), type: 'mystery' });
  assert.equal(r.status, 400);
  assert.equal((await fetch(sev.url + '/healthz')).status, 200);
});

async function skippedCount() {
  const text = await (await fetch(sev.url + '/metrics')).text();
  const m = /sev_webhook_messages_total\{outcome="skipped"\} (\d+)/.exec(text);
  assert.ok(m, 'the skipped counter is in /metrics');
  return Number(m[1]);
}

// Failing an authentic delivery makes Twitch retry, then revoke the subscription
// (notification_failures_exceeded): what SEV cannot use is answered 2xx, logged and counted.
test('authentic notifications SEV cannot decode are answered 204, logged, counted, not stored', async () => {
  const before = await skippedCount();
  const sub = (type, version = '1') => ({ id: crypto.randomUUID(), status: 'enabled', type, version, cost: 0, condition: {}, transport: { method: 'webhook', callback: 'x' }, created_at: new Date().toISOString() });
  const bodies = [
    { subscription: sub('channel.follow', '2') }, // no event
    { subscription: sub('channel.follow', '2'), event: { user_login: 'x' } }, // no broadcaster
    { subscription: sub('drop.entitlement.grant'), events: [{ id: 'e1', data: {} }] }, // batched
    { subscription: { type: 7 }, event: [] },
    { subscription: sub('user.authorization.grant'), event: { client_id: 'c', user_id: '1', user_login: 'u', user_name: 'U' } },
  ];
  for (const body of bodies) {
    const r = await h.postWebhook(sev, { body });
    assert.equal(r.status, 204, JSON.stringify(body));
  }
  assert.equal(await skippedCount(), before + bodies.length);
  assert.match(sev.proc.output, /msg=webhook.notification_skipped .*type=drop.entitlement.grant .*reason="batched events/);
  assert.deepEqual(await eventsOf('x'), []);
  // an unknown type or version that names a broadcaster is kept, decoded generically
  const body = { subscription: sub('channel.future_thing', '7'), event: { broadcaster_user_id: '77', broadcaster_user_login: 'futurestar', broadcaster_user_name: 'FutureStar' } };
  assert.equal((await h.postWebhook(sev, { body })).status, 204);
  const [e] = await eventsOf('futurestar');
  assert.equal(e.type, 'channel.future_thing');
  assert.equal(e.summary, 'channel.future_thing event');
});

test("Twitch's own ad break example (with its trailing commas) is stored and pushed", async () => {
  const fs = require('node:fs');
  const path = require('node:path');
  const sample = JSON.parse(fs.readFileSync(path.join(h.ROOT, 'tests/data/eventsub/channel.ad_break.begin.json'), 'utf8'));
  sample.event.broadcaster_user_login = 'adbreakstar';
  // as the reference page prints it: a comma before the closing brace of condition and event
  const raw = JSON.stringify(sample, null, 2).replace('"1337"\n    }', '"1337",\n    }').replace(/("requester_user_name": "Cool_User")/, '$1,');
  assert.throws(() => JSON.parse(raw));
  const ws = await h.openWs(sev, 'adbreakstar');
  const r = await h.postWebhook(sev, { body: raw });
  assert.equal(r.status, 204);
  const ev = await h.waitFor('the ad break on the socket', () => ws.events().find((x) => x.type === 'channel.ad_break.begin'), 5000);
  assert.equal(ev.summary, 'Ad break started (60 seconds)');
  ws.close();
});

test('a revocation is acknowledged with 204', async () => {
  const body = { subscription: { id: crypto.randomUUID(), status: 'authorization_revoked', type: 'channel.follow', version: '2', condition: { broadcaster_user_id: '1' }, transport: { method: 'webhook', callback: 'x' }, created_at: new Date().toISOString() } };
  const r = await h.postWebhook(sev, { type: 'revocation', body });
  assert.equal(r.status, 204);
  assert.match(sev.proc.output, /msg=webhook.revocation .*reason=authorization_revoked/);
});

test('a notification for a streamer nobody subscribed to is still stored (signed by Twitch)', async () => {
  const r = await h.postWebhook(sev, { body: h.followBody('nobodywatches', 'bob') });
  assert.equal(r.status, 204);
  assert.equal((await eventsOf('nobodywatches')).length, 1);
});

test('every EventSub sample type is accepted and pushed to a WebSocket client', async (t) => {
  const samples = h.loadEventsubSamples();
  assert.ok(samples.length >= 20, `expected the EventSub samples in tests/data/eventsub (found ${samples.length})`);
  const byStreamer = new Map();
  // A chat message that is not a cheer is acknowledged and not kept (the chat embed shows chat).
  const plainChat = samples.filter((s) => s.body.subscription.type === 'channel.chat.message' && !s.body.event.cheer);
  assert.ok(plainChat.length >= 1, 'a plain chat message sample exists');
  for (const s of plainChat) {
    const r = await h.postWebhook(sev, { body: s.body });
    assert.equal(r.status, 204, s.file);
  }
  for (const s of samples.filter((x) => !plainChat.includes(x))) {
    const e = s.body.event;
    const login = e.broadcaster_user_login || e.broadcaster_login || e.to_broadcaster_user_login;
    if (!byStreamer.has(login)) byStreamer.set(login, []);
    byStreamer.get(login).push(s);
  }
  for (const [login, list] of byStreamer) {
    const ws = await h.openWs(sev, login);
    const ids = [];
    for (const s of list) {
      const id = crypto.randomUUID();
      ids.push(id);
      const r = await h.postWebhook(sev, { body: s.body, id });
      assert.equal(r.status, 204, `${s.file}: ${r.status}`);
      // Twitch redelivers with the same message id: answered 2xx, stored and pushed once
      const again = await h.postWebhook(sev, { body: s.body, id, headers: { 'Twitch-Eventsub-Message-Retry': '1' } });
      assert.equal(again.status, 204, `${s.file} redelivered: ${again.status}`);
    }
    const got = await ws.waitForCount(list.length);
    ws.close();
    const stored = await eventsOf(login);
    for (const id of ids) assert.equal(stored.filter((e) => e.id === id).length, 1, `${id} stored once`);
    assert.deepEqual(got.map((e) => e.id), ids, `live order for ${login}`);
    for (let i = 0; i < list.length; i++) {
      const e = got[i];
      assert.equal(e.type, list[i].body.subscription.type, list[i].file);
      assert.ok(e.summary && e.summary.length > 0, `${list[i].file} has a summary`);
      assert.match(e.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.deepEqual(e.data, list[i].body.event, `${list[i].file} data is the original event`);
      assert.notEqual(e.type === 'channel.chat.message' && !e.data.cheer, true, 'plain chat never pushed');
      for (const k of ['id', 'type', 'streamer_login', 'viewer_login', 'viewer_name', 'created_at', 'summary', 'data']) {
        assert.ok(k in e, `${list[i].file} has ${k}`);
      }
    }
  }
});

test('scripts/webhook-post.sh posts a signed follow by hand that reaches a /ws client at once', async () => {
  const { spawnSync } = require('node:child_process');
  const path = require('node:path');
  const script = path.join(h.ROOT, 'scripts', 'webhook-post.sh');
  const ws = await h.openWs(sev, 'byhandstar');
  const r = spawnSync(script, ['--url', sev.url, 'ByHandStar', 'alice'], { env: { ...process.env, TWITCH_EVENTSUB_SECRET: sev.secret }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), '204');
  const ev = await h.waitFor('the follow on the socket', () => ws.events().find((e) => e.type === 'channel.follow'), 5000);
  assert.equal(ev.streamer_login, 'byhandstar');
  assert.equal(ev.summary, 'alice followed');
  ws.close();
  // a wrong secret is refused, bad usage exits 2 with one line
  const forged = spawnSync(script, ['--url', sev.url, 'byhandstar'], { env: { ...process.env, TWITCH_EVENTSUB_SECRET: 'not-the-secret' }, encoding: 'utf8' });
  assert.equal(forged.stdout.trim(), '403');
  const bad = spawnSync(script, ['--url', sev.url, 'not a login'], { env: { ...process.env, TWITCH_EVENTSUB_SECRET: sev.secret }, encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.equal(bad.stderr.trim().split('\n').length, 1);
});
