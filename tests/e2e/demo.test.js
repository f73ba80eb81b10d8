'use strict';
// `make run` without Twitch credentials: scripts/run.sh starts twitch-sim --demo beside sev. A
// newcomer opens the home page, logs in, makes a live demo channel their favorite with one
// click and sees its events arrive by themselves (conduit mode: an app and an http URL);
// SIGTERM (as Ctrl-C) stops both processes.
// The screenshots of this run are the README's (a realistic mix of demo events).
const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const h = require('../lib/harness');
const b = require('./browser');

const SLOW = 30000;

async function refused(url) {
  try {
    await fetch(url);
    return false;
  } catch {
    return true;
  }
}

test('the demo: log in, one click to a favorite, events arrive within seconds; Ctrl-C stops it all', async () => {
  const port = await h.freePort();
  const simPort = await h.freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sev-demo-'));
  const env = { ...process.env };
  for (const k of Object.keys(env)) if (/^(TWITCH_|SEV_)/.test(k)) delete env[k];
  Object.assign(env, {
    B: path.relative(h.ROOT, path.dirname(h.SEV_BIN)),
    SEV_LISTEN: `127.0.0.1:${port}`,
    SIM_PORT: String(simPort),
    SEV_DATABASE: `sqlite:${path.join(dir, 'demo.db')}`,
    SEV_KEY_FILE: path.join(dir, 'sev.key'),
  });
  const run = spawn(path.join(h.ROOT, 'scripts/run.sh'), [], { cwd: h.ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  run.stdout.on('data', (d) => { out += d; });
  run.stderr.on('data', (d) => { out += d; });
  const exited = new Promise((resolve) => run.on('exit', (code, signal) => resolve({ code, signal })));
  const base = `http://localhost:${port}`;
  let browser;
  try {
    await h.waitFor('run.sh to start sev', async () => {
      if (run.exitCode !== null) throw new Error(`run.sh exited ${run.exitCode}: ${out}`);
      return (await fetch(`http://127.0.0.1:${port}/healthz`)).ok;
    }, SLOW, 100);
    assert.match(out, new RegExp(`open ${base}`));
    const cfg = await (await fetch(`http://127.0.0.1:${port}/config.json`)).json();
    assert.equal(cfg.demo, true);
    assert.equal(cfg.embed_ok, true);

    browser = await b.launch();
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'dark', locale: 'en-US' });
    await b.recordCsp(context);
    const page = await context.newPage();
    const problems = b.watch(page, { allow: [/status of 401.*\/api\/me/] });
    await page.goto(`${base}/`);
    await page.click('#stranger a[href="/auth/login"] >> nth=0');
    await page.waitForSelector('#dashboard:not([hidden])', { timeout: SLOW });
    // The demo viewer follows live demo channels: one click makes one the favorite.
    await page.waitForSelector('#following li .badge-live', { timeout: SLOW });
    await page.click('#following li:has(.badge-live) button >> nth=0');
    await page.waitForSelector('#fav-current a[href^="/streamer/"]', { timeout: SLOW });
    await b.shot(page, 'home-demo.png');
    await page.click('#fav-current a[href^="/streamer/"]');
    await page.waitForSelector('#feed-pill[data-state="live"]', { timeout: SLOW });
    const t0 = Date.now();
    await page.waitForSelector('#live-badge', { timeout: SLOW });
    assert.equal(await page.textContent('#live-badge'), 'Live');
    // The demo's trickle: a few events arrive by themselves.
    await page.waitForFunction(() => document.querySelectorAll('#events > li.is-new').length >= 4, null, { timeout: 60000 });
    assert.ok(Date.now() - t0 < 60000);
    // An app and an http public URL: the demo runs in conduit mode (sev's own session behind
    // the conduit's shard carries the app-token types).
    const sim = `http://127.0.0.1:${simPort}`;
    const conduits = (await (await fetch(`${sim}/sim/conduits`)).json()).data;
    assert.equal(conduits.length, 1);
    assert.equal(conduits[0].shards[0].status, 'enabled');
    const subs = (await (await fetch(`${sim}/sim/subscriptions`)).json()).data;
    assert.ok(subs.some((x) => x.type === 'stream.online' && x.transport.method === 'conduit' && x.status === 'enabled'));
    assert.deepEqual(problems, []);
    assert.deepEqual(await b.cspViolations(page), []);
    await b.shot(page, 'streamer-demo-full.png', { fullPage: true });
    await page.setViewportSize({ width: 1280, height: 1200 });
    await page.evaluate(() => window.scrollTo(0, 0));
    await b.shot(page, 'streamer-demo-desktop.png');
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForFunction(() => window.innerWidth === 390);
    assert.equal(await b.overflowX(page), false);
    await page.evaluate(() => window.scrollTo(0, 0));
    await b.shot(page, 'streamer-demo-phone.png');
  } finally {
    await browser?.close().catch(() => {});
    run.kill('SIGTERM');
    const timer = setTimeout(() => run.kill('SIGKILL'), 15000);
    await exited;
    clearTimeout(timer);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  // Both processes are gone.
  await h.waitFor('sev and the simulator to stop', async () =>
    (await refused(`http://127.0.0.1:${port}/healthz`)) && (await refused(`http://127.0.0.1:${simPort}/sim/deliveries`)), 15000, 100);
});
