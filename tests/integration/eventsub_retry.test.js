'use strict';
// The EventSub WebSocket never redelivers: events that arrive while the store fails are kept
// and retried in order (bounded, counted in /metrics), not dropped.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const h = require('../lib/harness');
const tw = require('../lib/twitch');

const STREAMER = 'retrystar';
let sim, sev, ctl;

async function metric(name) {
  const text = await (await fetch(`${sev.url}/metrics`)).text();
  const m = text.match(new RegExp(`^${name} (\\d+)`, 'm'));
  return m ? Number(m[1]) : NaN;
}

async function storedIds() {
  const r = await fetch(`${sev.url}/api/streamers/${STREAMER}/events?limit=100`);
  if (r.status !== 200) return [];
  return (await r.json()).events.map((e) => e.id);
}

before(async () => {
  sim = await tw.startSim();
  const streamerId = (await sim.user(STREAMER)).id;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sev-esretry-'));
  ctl = path.join(dir, 'fault.ctl');
  const asan = `${process.env.ASAN_OPTIONS || ''}:verify_asan_link_order=0`;
  sev = await tw.startSevWithSim(sim, {
    dir,
    env: { LD_PRELOAD: path.join(path.dirname(h.SEV_BIN), 'faultfs.so'), SEV_FAULT_CTL: ctl, ASAN_OPTIONS: asan },
  });
  const viewer = await tw.loginAs(sev, sim, 'retryviewer');
  assert.equal((await tw.api(sev, viewer, 'PUT', '/api/me/favorite', { login: STREAMER })).status, 200);
  await h.waitFor('channel.update subscribed', async () => (await sim.subscriptions())
    .some((s) => s.type === 'channel.update' && s.status === 'enabled' && s.condition.broadcaster_user_id === streamerId), 15000, 100);
});

after(async () => {
  fs.rmSync(ctl, { force: true });
  await h.stopAll(sev, sim);
});

test('EventSub WebSocket events that the store fails are retried in order once it recovers', async () => {
  const ws = await h.openWs(sev, STREAMER);
  fs.writeFileSync(ctl, 'fsync EIO\n');
  const sent = [];
  for (let i = 0; i < 5; i++) {
    const r = await sim.post('/sim/trigger', { broadcaster: STREAMER, type: 'channel.update', title: `title ${i}` });
    assert.ok(r.delivered >= 1);
    sent.push(...r.message_ids);
  }
  await h.waitFor('the failed events in the retry queue', async () => (await metric('sev_ingest_retry_queued')) >= sent.length, 10000);
  assert.deepEqual((await storedIds()).filter((id) => sent.includes(id)), [], 'nothing stored while the disk fails');
  assert.equal(ws.events().length, 0, 'nothing published before it is durable');

  fs.unlinkSync(ctl);
  await h.waitFor('every event stored by a retry', async () => sent.every((id) => ws.events().some((e) => e.id === id)), 20000, 50);
  assert.deepEqual(ws.events().map((e) => e.id).filter((id) => sent.includes(id)), sent, 'in the order Twitch sent them, once each');
  assert.deepEqual((await storedIds()).filter((id) => sent.includes(id)), [...sent].reverse());
  assert.ok((await metric('sev_ingest_retried_total')) >= sent.length);
  assert.equal(await metric('sev_ingest_retry_queued'), 0);
  ws.close();
});
