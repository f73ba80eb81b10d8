'use strict';
// Storage faults, as SQLite tests itself: writes and fsyncs that fail (an LD_PRELOAD shim,
// tests/fault/faultfs.c), a disk that fills (a small tmpfs), a database locked by another
// process past the busy timeout, and databases that cannot be opened. In every case a webhook
// is answered 2xx only once its event is durable (else 503 with Retry-After, so Twitch
// redelivers), /healthz says 503 while writes fail, and SEV recovers without a restart.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const h = require('../lib/harness');

const SHIM = path.join(path.dirname(h.SEV_BIN), 'faultfs.so');

// sev with the fault shim preloaded; faults are off until ctl is written.
async function startFaulty() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sev-fault-'));
  const ctl = path.join(dir, 'fault.ctl');
  // The shim is built without sanitizers; ASan only wants to be first in the link order.
  const asan = `${process.env.ASAN_OPTIONS || ''}:verify_asan_link_order=0`;
  const sev = await h.startSev({ dir, env: { LD_PRELOAD: SHIM, SEV_FAULT_CTL: ctl, ASAN_OPTIONS: asan } });
  return { sev, ctl };
}

async function eventIds(sev, streamer) {
  const r = await fetch(`${sev.url}/api/streamers/${streamer}/events?limit=100`);
  if (r.status === 404) return [];
  assert.equal(r.status, 200);
  return (await r.json()).events.map((e) => e.id);
}

async function health(sev) {
  const r = await fetch(`${sev.url}/healthz`);
  const body = await r.json();
  return { status: r.status, body, retryAfter: r.headers.get('retry-after') };
}

function assert503(r, what) {
  assert.equal(r.status, 503, what);
  assert.ok(Number(r.headers.get('retry-after')) > 0, `${what}: Retry-After`);
}

for (const fault of ['fsync EIO', 'write EIO', 'write ENOSPC']) {
  test(`${fault}: the webhook gets 503 + Retry-After, nothing is published, /healthz is 503, and SEV recovers`, async () => {
    const { sev, ctl } = await startFaulty();
    try {
      const streamer = `fault${crypto.randomBytes(3).toString('hex')}`;
      const before = crypto.randomUUID();
      assert.equal((await h.postWebhook(sev, { body: h.followBody(streamer, 'early'), id: before })).status, 204);
      const ws = await h.openWs(sev, streamer);

      fs.writeFileSync(ctl, `${fault}\n`);
      const id = crypto.randomUUID();
      const body = h.followBody(streamer, 'victim');
      const r = await h.postWebhook(sev, { body, id });
      assert503(r, 'a delivery whose commit failed');
      assert.ok(Number(fs.readFileSync(`${ctl}.count`, 'utf8')) > 0, 'the fault was hit');
      const hz = await health(sev);
      assert.equal(hz.status, 503, '/healthz while writes fail');
      assert.equal(typeof hz.body.error, 'string');
      assert.deepEqual(await eventIds(sev, streamer), [before], 'the failed event is not visible');

      fs.unlinkSync(ctl);
      // The writer probes by itself: healthy again without any new event.
      await h.waitFor('/healthz 200 after the fault clears', async () => (await health(sev)).status === 200, 10000);
      const again = await h.postWebhook(sev, { body, id });
      assert.equal(again.status, 204, 'the redelivery is stored');
      assert.deepEqual(await eventIds(sev, streamer), [id, before]);
      const live = await ws.waitForCount(1);
      assert.deepEqual(live.map((e) => e.id), [id], 'published once, after it was durable');
      ws.close();
    } finally {
      fs.rmSync(ctl, { force: true });
      const { code } = await sev.stop();
      assert.equal(code, 0);
    }
  });
}

test('a database locked by another process past the busy timeout: 503, then recovery', async () => {
  const { sev } = await startFaulty();
  const db = path.join(sev.dir, 'sev.db');
  const holder = spawn('sqlite3', [db], { stdio: ['pipe', 'pipe', 'pipe'] });
  try {
    let out = '';
    holder.stdout.on('data', (d) => { out += d; });
    holder.stdin.write("BEGIN IMMEDIATE;\nINSERT INTO settings(key, value) VALUES ('lock', 'held');\nSELECT 'locked';\n");
    await h.waitFor('the other process to hold the write lock', () => out.includes('locked'), 5000);
    const streamer = 'busylock';
    const id = crypto.randomUUID();
    const body = h.followBody(streamer, 'waiter');
    const r = await h.postWebhook(sev, { body, id });
    assert503(r, 'a delivery that waited past the busy timeout');
    assert.equal((await health(sev)).status, 503);
    holder.stdin.end('ROLLBACK;\n.quit\n');
    await new Promise((resolve) => holder.on('exit', resolve));
    await h.waitFor('/healthz 200 once the lock is gone', async () => (await health(sev)).status === 200, 10000);
    assert.equal((await h.postWebhook(sev, { body, id })).status, 204);
    assert.deepEqual(await eventIds(sev, streamer), [id]);
  } finally {
    holder.kill();
    const { code } = await sev.stop();
    assert.equal(code, 0);
  }
});

test('the disk fills: 503 with Retry-After, nothing acknowledged is lost, recovery once space returns', async (t) => {
  const mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'sev-full-'));
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', mnt], { encoding: 'utf8' });
  if (m.status !== 0) {
    fs.rmdirSync(mnt);
    t.skip(`cannot mount a tmpfs (root needed): ${m.stderr.trim()}`);
    return;
  }
  let sev;
  try {
    sev = await h.startSev({ dir: mnt });
    const filler = path.join(mnt, 'filler');
    fs.writeFileSync(filler, Buffer.alloc(4 * 1024 * 1024));
    const streamer = 'diskfull';
    const acked = [], refused = [];
    for (let i = 0; i < 400 && refused.length < 3; i++) {
      const id = crypto.randomUUID();
      const body = h.followBody(streamer, `v${i}`, { pad: crypto.randomBytes(60000).toString('base64') });
      const r = await h.postWebhook(sev, { body, id });
      if (r.status === 204) acked.push(id);
      else {
        assert503(r, 'a delivery on a full disk');
        refused.push({ id, body });
      }
    }
    assert.ok(refused.length > 0, 'the disk filled');
    assert.ok(acked.length > 0, 'some events fitted');
    assert.equal((await health(sev)).status, 503, '/healthz while the disk is full');

    fs.unlinkSync(filler);
    await h.waitFor('/healthz 200 once space returns', async () => (await health(sev)).status === 200, 10000);
    for (const { id, body } of refused) {
      assert.equal((await h.postWebhook(sev, { body, id })).status, 204, 'a redelivery after recovery');
      acked.push(id);
    }
    const ids = await eventIds(sev, streamer);
    assert.deepEqual([...ids].sort(), [...new Set(acked)].sort(), 'every acknowledged event, once');
    const { code } = await sev.stop();
    assert.equal(code, 0);
    sev = null;
    // and after a restart
    const again = await h.startSev({ dir: mnt });
    assert.deepEqual([...(await eventIds(again, streamer))].sort(), [...new Set(acked)].sort());
    await again.stop();
  } finally {
    if (sev) await sev.stop();
    spawnSync('umount', [mnt]);
    fs.rmSync(mnt, { recursive: true, force: true });
  }
});

test('a database that cannot be opened gives one line naming SEV_DATABASE and exit 2', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sev-bad-db-'));
  const garbage = path.join(dir, 'garbage.db');
  fs.writeFileSync(garbage, crypto.randomBytes(8192));
  const header = path.join(dir, 'header.db');
  fs.writeFileSync(header, Buffer.concat([Buffer.from('SQLite format 3\0'), crypto.randomBytes(4080)]));
  const notAFile = path.join(dir, 'dir.db');
  fs.mkdirSync(notAFile);
  for (const db of [garbage, header, notAFile]) {
    const r = spawnSync(h.SEV_BIN, [], {
      encoding: 'utf8', timeout: 10000,
      env: { ...process.env, SEV_LISTEN: '127.0.0.1:0', SEV_DATABASE: `sqlite:${db}`, SEV_KEY_FILE: path.join(dir, 'k'), TWITCH_EVENTSUB_SECRET: '' },
    });
    assert.equal(r.status, 2, `${db}: ${r.stderr}`);
    const lines = r.stderr.trim().split('\n').filter((l) => /^sev: /.test(l));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^sev: SEV_DATABASE: database .*: (file is not a database|cannot open)/);
  }
  fs.rmSync(dir, { recursive: true, force: true });
});
