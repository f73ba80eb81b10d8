'use strict';
// Webhook edges, as Stripe's and Svix's receivers are tested: both sides of the 10-minute
// window (past and future; the exact boundary is tests/unit/test_webhook.c), one message id
// delivered twice at once, and what an unsigned sender can put in the log.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const h = require('../lib/harness');

let sev;
before(async () => { sev = await h.startSev(); });
after(async () => { const r = await sev.stop(); assert.equal(r.code, 0); });

async function eventIds(streamer) {
  const r = await fetch(`${sev.url}/api/streamers/${streamer}/events?limit=100`);
  if (r.status === 404) return [];
  return (await r.json()).events.map((e) => e.id);
}

test('timestamps: 599 s old or ahead are accepted, 601 s old or ahead are refused', async () => {
  const cases = [[-599, 204], [-601, 403], [599, 204], [601, 403]];
  const want = [];
  for (const [s, status] of cases) {
    const id = crypto.randomUUID();
    const timestamp = new Date(Date.now() + s * 1000).toISOString();
    const r = await h.postWebhook(sev, { body: h.followBody('edgetime', `v${s < 0 ? 'm' : 'p'}${Math.abs(s)}`), id, timestamp });
    assert.equal(r.status, status, `${s} s`);
    if (status === 204) want.unshift(id);
  }
  assert.deepEqual(await eventIds('edgetime'), want);
});

test('one message id delivered many times at once is stored and published once, each answered 204', async () => {
  const streamer = 'concurrent';
  const ws = await h.openWs(sev, streamer);
  const id = crypto.randomUUID();
  const body = h.followBody(streamer, 'twice');
  const answers = await Promise.all(Array.from({ length: 8 }, () => h.postWebhook(sev, { body, id })));
  assert.deepEqual(answers.map((r) => r.status), Array(8).fill(204));
  assert.deepEqual(await eventIds(streamer), [id]);
  // a later event marks the end of what was published: the duplicate was not sent
  const after = crypto.randomUUID();
  assert.equal((await h.postWebhook(sev, { body: h.followBody(streamer, 'later'), id: after })).status, 204);
  const live = await ws.waitForCount(2);
  assert.deepEqual(live.map((e) => e.id), [id, after]);
  ws.close();
});

test('unsigned requests: the sender\'s message id is never logged, and rejections are logged at most once per 10 s', async () => {
  const marker = `attacker-${crypto.randomBytes(4).toString('hex')}`;
  const before = (sev.proc.output.match(/msg=webhook.rejected/g) || []).length;
  for (let i = 0; i < 40; i++) {
    const r = await h.postWebhook(sev, { body: h.followBody('logflood', 'x'), id: `${marker}-${i}`, secret: 'not-the-secret-at-all' });
    assert.equal(r.status, 403);
  }
  const m = await (await fetch(`${sev.url}/metrics`)).text();
  assert.match(m, /sev_webhook_messages_total\{outcome="rejected"\} (\d+)/);
  assert.ok(Number(m.match(/outcome="rejected"\} (\d+)/)[1]) >= 40, 'every rejection is counted');
  assert.doesNotMatch(sev.proc.output, new RegExp(marker), 'no unsigned message id in the log');
  const lines = (sev.proc.output.match(/msg=webhook.rejected/g) || []).length - before;
  assert.ok(lines <= 2, `${lines} log lines for 40 rejections`);
});
