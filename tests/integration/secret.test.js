'use strict';
// The generated webhook secret is kept sealed with the token key (SEV_KEY_FILE), never in plain
// text beside the data it protects; a plain one left by an older SEV is sealed on start.
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const h = require('../lib/harness');

function sql(db, text) {
  const r = spawnSync('sqlite3', [db], { input: text, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

function filesContain(dir, needle) {
  return fs.readdirSync(dir).filter((f) => f.startsWith('sev.db'))
    .some((f) => fs.readFileSync(path.join(dir, f)).includes(Buffer.from(needle)));
}

const generated = { TWITCH_EVENTSUB_SECRET: '' };

test('a plain stored secret is sealed on start, keeps working, and leaves no plain copy', async () => {
  let sev = await h.startSev({ env: generated });
  assert.match(sev.proc.output, /msg=eventsub.secret_generated/);
  await sev.stop();
  const db = path.join(sev.dir, 'sev.db');
  const sealed = sql(db, "SELECT value FROM settings WHERE key = 'eventsub_secret_sealed';");
  assert.match(sealed, /^[0-9a-f]{100,}$/, 'kept sealed, as hex');
  assert.equal(sql(db, "SELECT count(*) FROM settings WHERE key = 'eventsub_secret' AND value <> '';"), '0');

  // As an older SEV left it: the secret in plain text, nothing sealed.
  const plain = `plain-secret-${crypto.randomBytes(8).toString('hex')}`;
  sql(db, `DELETE FROM settings WHERE key = 'eventsub_secret_sealed';
           INSERT INTO settings(key, value) VALUES ('eventsub_secret', '${plain}');`);
  sev = await h.startSev({ dir: sev.dir, env: generated });
  assert.match(sev.proc.output, /msg=eventsub.secret_sealed/);
  const body = h.followBody('sealedsecret', 'alice');
  assert.equal((await h.postWebhook(sev, { body, secret: plain })).status, 204, 'the migrated secret still verifies');
  await sev.stop();
  assert.equal(sql(db, "SELECT value FROM settings WHERE key = 'eventsub_secret';"), '');
  assert.equal(filesContain(sev.dir, plain), false, 'no plain copy left in the database files');

  // Next start: unsealed from the database.
  sev = await h.startSev({ dir: sev.dir, env: generated });
  assert.equal((await h.postWebhook(sev, { body: h.followBody('sealedsecret', 'bob'), secret: plain })).status, 204);
  await sev.stop();

  // Another key: the sealed secret does not open; a new one is made, the old one is refused.
  sev = await h.startSev({ dir: sev.dir, env: { ...generated, SEV_KEY_FILE: path.join(sev.dir, 'other.key') } });
  assert.match(sev.proc.output, /msg=eventsub.secret_unreadable/);
  assert.equal((await h.postWebhook(sev, { body: h.followBody('sealedsecret', 'carol'), secret: plain })).status, 403);
  const { code } = await sev.stop();
  assert.equal(code, 0);
});
