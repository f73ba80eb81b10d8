'use strict';
// The pages' other situations, in headless Chromium against a sev whose SEV_PUBLIC_URL is an IP
// address (so Twitch would refuse the embeds): the page says why instead of showing broken
// players; reduced motion and the light palette; the browser going offline and back; an unknown
// streamer; a stranger's home page. Events arrive as signed webhooks (no login needed).
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const h = require('../lib/harness');
const b = require('./browser');

const STREAMER = 'pixelpaula';
const SLOW = 30000;

let sev;
let browser;

async function follow(viewer) {
  const body = h.followBody(STREAMER, viewer);
  const id = `e2e-${viewer}-${Date.now()}`;
  const r = await h.postWebhook(sev, { body, id });
  assert.equal(r.status, 204);
  return id;
}

before(async () => {
  const port = await h.freePort();
  sev = await h.startSev({ port, env: { SEV_PUBLIC_URL: `http://127.0.0.1:${port}` } });
  await follow('first_fan');
  browser = await b.launch();
});

after(async () => {
  await browser?.close().catch(() => {});
  await h.stopAll(sev);
});

// A fresh page; a stranger's GET /api/me answers 401, which Chromium logs: expected here.
async function open(opts = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US', ...opts });
  await b.recordCsp(context);
  const page = await context.newPage();
  const problems = b.watch(page, { allow: [/status of 401.*\/api\/me/] });
  return { context, page, problems };
}

test('an IP-address SEV_PUBLIC_URL: no embeds, one sentence saying why, events still live', async () => {
  const { context, page, problems } = await open();
  await page.goto(`${sev.url}/streamer/${STREAMER}`);
  await page.waitForSelector('#embed-problem', { timeout: SLOW });
  assert.match(await page.textContent('#embed-problem'), /IP address/);
  assert.equal(await page.locator('iframe').count(), 0);
  assert.ok(await page.locator(`#embed-problem a[href="https://www.twitch.tv/${STREAMER}"]`).count() === 1, 'a link to watch on Twitch');
  await page.waitForSelector('#feed-pill[data-state="live"]', { timeout: SLOW });
  const id = await follow('second_fan');
  await page.waitForSelector(`#events li[data-id="${id}"]`, { timeout: 2000 });
  // Animated by default (the slide-in), dark by default.
  assert.notEqual(await page.$eval(`#events li[data-id="${id}"]`, (li) => getComputedStyle(li).animationName), 'none');
  assert.deepEqual(problems, []);
  assert.deepEqual(await b.cspViolations(page), []);
  await context.close();
});

test('prefers-reduced-motion: new rows appear without animation; light palette under prefers light', async () => {
  const { context, page, problems } = await open({ reducedMotion: 'reduce', colorScheme: 'light' });
  await page.goto(`${sev.url}/streamer/${STREAMER}`);
  await page.waitForSelector('#feed-pill[data-state="live"]', { timeout: SLOW });
  const id = await follow('calm_fan');
  await page.waitForSelector(`#events li[data-id="${id}"]`, { timeout: 2000 });
  const anim = await page.$eval(`#events li[data-id="${id}"]`, (li) => getComputedStyle(li).animationName);
  assert.equal(anim, 'none');
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  const [r, g, bl] = bg.match(/\d+/g).map(Number);
  assert.ok(r + g + bl > 600, `a light background under prefers-color-scheme: light (${bg})`);
  assert.deepEqual(problems, []);
  await context.close();
});

test('the browser goes offline and back: the pill says so and the page catches up', async () => {
  const { context, page, problems } = await open({ colorScheme: 'dark' });
  let socket = null; // the page's side of its current /ws, so the test can drop it
  await page.routeWebSocket(/\/ws\?/, (ws) => { socket = ws; ws.connectToServer(); });
  await page.goto(`${sev.url}/streamer/${STREAMER}`);
  await page.waitForSelector('#feed-pill[data-state="live"]', { timeout: SLOW });
  // The network goes away: the browser says offline and the socket drops.
  await context.setOffline(true);
  await socket.close({ code: 4000, reason: 'network lost' });
  await page.waitForSelector('#feed-pill[data-state="offline"]', { timeout: SLOW });
  assert.equal(await page.textContent('#feed-pill-text'), 'Offline');
  const missed = await follow('while_offline');
  await context.setOffline(false);
  await page.waitForSelector(`#events li[data-id="${missed}"]`, { timeout: SLOW });
  await page.waitForSelector('#feed-pill[data-state="live"]', { timeout: SLOW });
  assert.deepEqual(problems.filter((p) => !/ERR_INTERNET_DISCONNECTED|WebSocket/.test(p)), []);
  await context.close();
});

test('an unknown streamer and a stranger get friendly pages', async () => {
  const { context, page, problems } = await open({ colorScheme: 'dark' });
  await page.goto(`${sev.url}/streamer/nobody_here`);
  await page.waitForSelector('#unknown:not([hidden])', { timeout: SLOW });
  assert.match(await page.textContent('#unknown'), /hasn.t heard of nobody_here/);
  assert.ok(await page.locator('#unknown a[href="/auth/login"]').count() === 1, 'a way to log in');
  // A name Twitch cannot have: still the page (404), saying so in words.
  const res = await page.goto(`${sev.url}/streamer/not-a-name!`);
  assert.equal(res.status(), 404);
  assert.match(res.headers()['content-type'], /text\/html/);
  await page.waitForSelector('#unknown:not([hidden])', { timeout: SLOW });
  assert.match(await page.textContent('#unknown'), /not a Twitch name/);
  const ov = await page.goto(`${sev.url}/streamer/not-a-name!/overlay`);
  assert.equal(ov.status(), 404);
  await page.waitForSelector('#overlay-note:not([hidden])', { timeout: SLOW });
  assert.match(await page.textContent('#overlay-note'), /not name a valid Twitch streamer/);
  await page.goto(`${sev.url}/`);
  await page.waitForSelector('#stranger:not([hidden])', { timeout: SLOW });
  assert.ok(await page.locator('a[href="/auth/login"]').count() >= 1);
  await page.setViewportSize({ width: 360, height: 740 });
  await page.waitForFunction(() => window.innerWidth === 360);
  assert.equal(await b.overflowX(page), false, 'home: no horizontal scroll at 360 px');
  await b.shot(page, 'home-stranger-phone.png', { fullPage: true, animations: 'disabled' });
  assert.deepEqual(problems.filter((p) => !/status of 404/.test(p)), []);
  assert.deepEqual(await b.cspViolations(page), []);
  await context.close();
});

test('the stream status as SEV sends it (top-level live, title, …) renders live and offline', async () => {
  const { context, page, problems } = await open({ colorScheme: 'dark' });
  const started = new Date(Date.now() - 65 * 60000).toISOString();
  let live = true;
  let real = null;
  // SEV's own answer with only the values of its fields changed: the shape stays SEV's, so a
  // change of shape on either side (the API or the page) fails here.
  await page.route(`**/api/streamers/${STREAMER}`, async (route) => {
    const res = await route.fetch();
    real = await res.json();
    const values = { live, title: 'Routed title', game_name: 'Tetris', viewer_count: live ? 1234 : null, started_at: live ? started : null };
    const body = { ...real };
    for (const k of Object.keys(values)) if (k in body) body[k] = values[k];
    await route.fulfill({ response: res, json: body });
  });
  await page.goto(`${sev.url}/streamer/${STREAMER}`);
  await page.waitForSelector('#live-badge', { timeout: SLOW });
  assert.equal(await page.textContent('#live-badge'), 'Live');
  assert.equal(await page.textContent('#stream-title'), 'Routed title');
  const meta = await page.textContent('#stream-meta');
  assert.match(meta, /Tetris/);
  assert.match(meta, /1,234 watching/);
  assert.match(meta, /live for 1 h 0[45] min/);
  live = false;
  await page.reload();
  await page.waitForSelector('#live-badge', { timeout: SLOW });
  assert.equal(await page.textContent('#live-badge'), 'Offline');
  assert.equal(await page.textContent('#stream-title'), 'Last title: Routed title');
  assert.doesNotMatch(await page.textContent('#stream-meta'), /watching|live for/);
  assert.deepEqual(Object.keys(real).sort(), ['game_name', 'live', 'started_at', 'streamer', 'title', 'viewer_count']);
  assert.equal(real.streamer.login, STREAMER);
  assert.deepEqual(problems, []);
  await context.close();
});

test('an error link shows SEV\'s own words, never the text in the link', async () => {
  const { context, page, problems } = await open();
  const evil = encodeURIComponent('Your account is locked. Call +1 555 0100 now');
  await page.goto(`${sev.url}/?error=access_denied&error_description=${evil}`);
  await page.waitForSelector('#flash .notice, #flash [role]', { timeout: SLOW });
  let flash = await page.textContent('#flash');
  assert.match(flash, /cancelled the Twitch login/);
  assert.doesNotMatch(flash, /555|locked/);
  await page.goto(`${sev.url}/?error=call_555_0100&error_description=${evil}&message=${evil}`);
  await page.waitForSelector('#flash .notice, #flash [role]', { timeout: SLOW });
  flash = await page.textContent('#flash');
  assert.match(flash, /Something went wrong\. Please try again\./);
  assert.doesNotMatch(flash, /555|locked|call_/);
  assert.equal(new URL(page.url()).search, '', 'the parameters are gone from the address bar');
  assert.deepEqual(problems, []);
  await context.close();
});
