'use strict';
// Failures as Twitch documents them, against the simulator: a WebSocket session whose
// subscriptions all failed is closed by SEV, not kept until Twitch closes it (4003) and then
// reopened in a loop.
const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('../lib/harness');
const tw = require('../lib/twitch');

const started = [];
after(() => h.stopAll(...started));

test('a WebSocket session whose subscriptions all failed is closed, not reopened', async () => {
  const sim = await tw.startSim();
  const sev = await tw.startSevWithSim(sim);
  started.push(sev, sim);
  await sim.user('emptystar');
  const jar = await tw.loginAs(sev, sim, 'emptyviewer');
  // every Create EventSub Subscription is refused as a bad request (final, never retried)
  await sim.post('/sim/faults', { status: 400, count: 1000, path: '/helix/eventsub/subscriptions' });
  const r = await tw.api(sev, jar, 'PUT', '/api/me/favorite', { login: 'emptystar' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  await h.waitFor('sev to close the empty session', () => /msg=eventsub.session_closed user=\d+ reason="nothing to carry"/.test(sev.proc.output), 15000, 50);
  await h.waitFor('no session at the simulator', async () => (await sim.sessions()).length === 0, 10000, 50);
  const opened = (sev.proc.output.match(/msg=eventsub.session_ready/g) || []).length;
  assert.equal(opened, 1);
  // the capability panel says why, and another request through sev opens nothing
  const caps = await tw.api(sev, null, 'GET', '/api/streamers/emptystar/capabilities');
  assert.match(caps.body.types.find((t) => t.type === 'stream.online').reason, /Twitch refused/);
  await tw.api(sev, jar, 'GET', '/api/me');
  assert.equal((await sim.sessions()).length, 0);
  assert.equal((sev.proc.output.match(/msg=eventsub.session_ready/g) || []).length, opened);
});
