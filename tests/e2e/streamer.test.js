'use strict';
// Issue 6 in a real browser: a viewer logs in through the simulator's OAuth, picks a favorite on
// the home page, watches the streamer page (embeds, live events over /ws, stream status, gap
// markers, reconnect across a sev restart), then the overlay and the analytics page, on desktop
// and phone sizes, with no console errors, no CSP violations and no HTTP polling.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const h = require('../lib/harness');
const tw = require('../lib/twitch');
const b = require('./browser');

const STREAMER = 'pixelpaula';
const VIEWER = 'viewer_vic';
const APPEAR_MS = 2000; // the issue: an event is on screen within 2 s of the trigger
const SLOW = 30000; // anything else: generous, the machine may be loaded

let sim;
let sev;
let dir;
let port;
let base; // http://localhost:PORT, the SEV_PUBLIC_URL (cookies and embed parent use it)
let browser;
let context;
let page;
let problems;
const requests = []; // every HTTP request the streamer page made: {url, at}
const sockets = []; // every /ws URL the page opened
let holdSockets = false; // true: the page's /ws attempts are refused (the sev restart gap)

// Sends one event through the simulator once a matching subscription exists (a trigger that
// reaches nobody changes nothing, so retrying it is harmless). Returns {id, t0}: the EventSub
// message id (SEV's event id) and when the delivering trigger was sent.
async function trigger(body) {
  let res;
  let t0;
  if (body.user) await sim.user(body.user);
  await h.waitFor(`a subscription for ${body.type} to deliver to`, async () => {
    t0 = Date.now();
    res = await sim.post('/sim/trigger', { broadcaster: STREAMER, ...body });
    return res.delivered > 0;
  }, SLOW, 200);
  return { id: res.message_ids[0], t0 };
}

// Waits until the event with this id is in the streamer page's list, at most APPEAR_MS after t0.
async function seeWithin(id, t0, list = '#events') {
  const left = Math.max(1, APPEAR_MS - (Date.now() - t0));
  try {
    await page.waitForSelector(`${list} li[data-id="${id}"]`, { timeout: left });
  } catch {
    throw new Error(`event ${id} was not on the page within ${APPEAR_MS} ms of its trigger`);
  }
  return Date.now() - t0;
}

async function listIds(list = '#events') {
  return page.$$eval(`${list} > li`, (lis) => lis.map((li) => li.dataset.id));
}

before(async () => {
  sim = await tw.startSim();
  await sim.user(STREAMER);
  await sim.user(VIEWER);
  await sim.post(`/sim/streams/${STREAMER}`, { live: true, title: 'Any% practice, chill vibes', game_name: 'Celeste' });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sev-e2e-'));
  port = await h.freePort();
  sev = await tw.startSevWithSim(sim, { dir, port });
  base = `http://localhost:${port}`;
  browser = await b.launch();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'dark', locale: 'en-US' });
  await b.recordCsp(context);
  page = await context.newPage();
  problems = b.watch(page);
  // Every /ws the page opens goes through here: normally straight to sev; refused while held.
  await page.routeWebSocket(/\/ws\?/, (ws) => {
    sockets.push(ws.url());
    if (holdSockets) {
      ws.close({ code: 1013, reason: 'held by the test' });
      return;
    }
    ws.connectToServer();
  });
});

after(async () => {
  await browser?.close().catch(() => {});
  await h.stopAll(sev, sim);
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('log in through the simulator and pick the favorite on the home page', async () => {
  await sim.post('/sim/auth/next', { login: VIEWER });
  await page.goto(`${base}/auth/login`);
  await page.waitForURL(`${base}/`, { timeout: SLOW });
  await page.waitForSelector('#dashboard:not([hidden])', { timeout: SLOW });
  assert.match(await page.textContent('#user-area'), /viewer_vic/i);

  // Keyboard only: type the name and press Enter.
  await page.focus('#fav-login');
  await page.keyboard.type(STREAMER);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#fav-name', { timeout: SLOW });
  assert.match(await page.textContent('#fav-name'), /pixelpaula/i);
  // Focus moved to the new favorite's name, and the status region said so.
  await page.waitForFunction(() => document.activeElement?.id === 'fav-name', null, { timeout: SLOW });
  await page.waitForFunction(() => /is now your favorite/.test(document.getElementById('fav-status').textContent), null, { timeout: SLOW });
  const me = await page.evaluate(async () => (await fetch('/api/me')).json());
  assert.equal(me.favorite.login, STREAMER);
  await b.shot(page, 'home-logged-in.png');
});

test('streamer page: embeds, status, history, capability panel', async () => {
  page.on('request', (r) => requests.push({ url: r.url(), at: Date.now() }));
  let navigations = 0;
  page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations++; });
  await Promise.all([page.waitForURL(`${base}/streamer/${STREAMER}`, { timeout: SLOW }), page.click('#fav-current a[href="/streamer/pixelpaula"]')]);
  await page.waitForSelector('#feed-pill[data-state="live"]', { timeout: SLOW });
  await page.evaluate(() => { window.__sevMarker = 'same document'; });
  page.__navigations = () => navigations;
  navigations = 0;

  // Player and chat: the simulator's embed pages, channel and parent from SEV_PUBLIC_URL.
  const player = new URL(await page.getAttribute('#player-box iframe', 'src'));
  assert.equal(`${player.origin}${player.pathname}`, `${sim.url}/embed/player`);
  assert.equal(player.searchParams.get('channel'), STREAMER);
  assert.deepEqual(player.searchParams.getAll('parent'), ['localhost']);
  const chat = new URL(await page.getAttribute('#chat-box iframe', 'src'));
  assert.equal(`${chat.origin}${chat.pathname}`, `${sim.url}/embed/${STREAMER}/chat`);
  assert.deepEqual(chat.searchParams.getAll('parent'), ['localhost']);
  // The embeds accepted that parent (the simulator answers 400 for a bad one).
  await h.waitFor('the player embed to render', async () => {
    const f = page.frames().find((fr) => fr.url().includes('/embed/player'));
    return f && /Live player for/.test(await f.textContent('body'));
  }, SLOW, 100);

  // Stream status from GET /api/streamers/{login}.
  assert.equal(await page.textContent('#live-badge'), 'Live');
  assert.match(await page.textContent('#stream-title'), /Any% practice, chill vibes/);
  assert.match(await page.textContent('#stream-game'), /Celeste/);

  // The capability panel says what is and is not received, in words.
  await page.waitForSelector('#cap-card:not([hidden])', { timeout: SLOW });
  const caps = await page.$$eval('#cap-list .cap-head', (hs) => hs.map((x) => x.textContent));
  assert.ok(caps.includes('Receiving'), caps.join(' | '));
  assert.ok(caps.some((t) => /^Not receiving: needs the broadcaster to authorize SEV/.test(t)), caps.join(' | '));
  // and the streamer is offered the way to authorize it
  assert.equal(await page.getAttribute('#cap-list .cap-unlock a', 'href'), '/auth/login?broadcaster=1');
  const api = (await tw.api(sev, null, 'GET', `/api/streamers/${STREAMER}/capabilities`)).body.types;
  const shown = await page.$$eval('#cap-list .cap-group.yes .tag', (ts) => ts.map((t) => t.textContent));
  assert.deepEqual(shown, [...new Set(api.filter((t) => t.receiving).map((t) => t.label))]);
});

test('triggered events slide in within 2 s, newest first, with icon, label and both times', async () => {
  // labels and icons come from SEV's type table through the capabilities answer
  const kinds = [
    { type: 'channel.chat.notification', notice_type: 'sub', user: 'alice_sub', label: 'Subscription' },
    { type: 'channel.chat.notification', notice_type: 'raid', user: 'raider_rex', viewers: 42, label: 'Raid' },
    { type: 'channel.chat.notification', notice_type: 'community_sub_gift', user: 'generous_gus', total: 5, label: 'Gift subs' },
    { type: 'channel.chat.message', user: 'bits_bea', bits: 100, message: 'Cheer100 great run', label: 'Cheer' },
    { type: 'channel.raid', user: 'raider_ron', viewers: 77, label: 'Raid' },
    { type: 'channel.shared_chat.begin', user: 'partner_pia', label: 'Shared chat started' },
  ];
  const seen = [];
  for (const { label, ...k } of kinds) {
    const { id, t0 } = await trigger(k);
    const ms = await seeWithin(id, t0);
    seen.push(id);
    const row = page.locator(`#events li[data-id="${id}"]`);
    assert.equal(await row.locator('.event-icon svg use').count(), 1, 'an icon');
    assert.equal((await row.locator('.event-type').textContent()).trim(), label, `${k.type} label`);
    assert.ok((await row.locator('.event-summary').textContent()).trim().length > 0, 'a summary');
    assert.match(await row.locator('time').getAttribute('datetime'), /^\d{4}-\d\d-\d\dT/);
    assert.match(await row.locator('time').textContent(), /just now|min ago/);
    assert.match(await row.locator('.event-abs').textContent(), /\d/);
    assert.ok(ms <= APPEAR_MS, `${k.type} took ${ms} ms`);
  }
  const ids = await listIds();
  assert.deepEqual(ids.slice(0, seen.length), [...seen].reverse(), 'newest first');
  assert.equal(await page.evaluate(() => window.__sevMarker), 'same document');
});

test('stream.offline, channel.update and stream.online change the header without a request', async () => {
  const before = requests.length;
  let ev = await trigger({ type: 'channel.update', title: 'Speedrun marathon day 2', category_name: 'Hades' });
  await seeWithin(ev.id, ev.t0);
  await page.waitForFunction(() => /Speedrun marathon day 2/.test(document.querySelector('#stream-title')?.textContent || ''), null, { timeout: SLOW });
  assert.match(await page.textContent('#stream-game'), /Hades/);
  ev = await trigger({ type: 'stream.offline' });
  await seeWithin(ev.id, ev.t0);
  await page.waitForFunction(() => document.querySelector('#live-badge')?.textContent === 'Offline', null, { timeout: SLOW });
  assert.match(await page.textContent('#stream-title'), /Last title: Speedrun marathon day 2/);
  ev = await trigger({ type: 'stream.online' });
  await seeWithin(ev.id, ev.t0);
  await page.waitForFunction(() => document.querySelector('#live-badge')?.textContent === 'Live', null, { timeout: SLOW });
  const sinceThen = requests.slice(before).filter((r) => new URL(r.url).pathname.startsWith('/api/'));
  assert.deepEqual(sinceThen.map((r) => r.url), [], 'no API request for a header update');
});

test('a burst: 10 rows kept, announced politely at most once per 5 s', async () => {
  // Watch the live region from now on.
  await page.evaluate(() => {
    window.__announced = [];
    const region = document.getElementById('announcer');
    new MutationObserver(() => {
      if (region.textContent) window.__announced.push({ text: region.textContent, at: Date.now() });
    }).observe(region, { childList: true, characterData: true, subtree: true });
  });
  assert.equal(await page.getAttribute('#announcer', 'aria-live'), 'polite');
  const burst = [];
  for (let i = 0; i < 12; i++) {
    burst.push((await trigger({ type: 'channel.chat.notification', notice_type: 'resub', user: `fan_${i}` })).id);
  }
  await page.waitForSelector(`#events li[data-id="${burst[burst.length - 1]}"]`, { timeout: SLOW });
  const ids = await listIds();
  assert.equal(ids.length, 10, 'the 10 most recent');
  assert.deepEqual(ids, [...burst].reverse().slice(0, 10));
  // The burst ends up in a batched announcement ("N new events: …").
  await page.waitForFunction(() => window.__announced.some((a) => /\d+ new events: /.test(a.text)), null, { timeout: SLOW });
  const said = await page.evaluate(() => window.__announced);
  assert.ok(said.length < burst.length / 2, `announced ${said.length} times for ${burst.length} events: ${JSON.stringify(said)}`);
  for (let i = 1; i < said.length; i++) assert.ok(said[i].at - said[i - 1].at >= 4500, 'at most one announcement per 5 s');
});

test('sev restarts: the page shows it, reconnects with since= and shows the gap and what was missed', async () => {
  const newest = (await listIds())[0];
  const opened = sockets.length;
  holdSockets = true; // the page may not reconnect until the missed event is stored
  await sev.stop();
  await page.waitForFunction(() => /Reconnecting in \d+ s/.test(document.getElementById('feed-pill-text').textContent), null, { timeout: SLOW });
  assert.equal(await page.getAttribute('#feed-pill', 'data-state'), 'reconnecting');

  sev = await tw.startSevWithSim(sim, { dir, port });
  const missed = await trigger({ type: 'channel.chat.notification', notice_type: 'announcement', user: 'mod_mia', message: 'Welcome back!' });
  await h.waitFor('the missed event to be stored', async () => {
    const r = await tw.api(sev, null, 'GET', `/api/streamers/${STREAMER}/events?limit=20`);
    return r.body.events.some((e) => e.id === missed.id);
  }, SLOW, 100);
  assert.equal(await page.locator(`#events li[data-id="${missed.id}"]`).count(), 0, 'not shown before the page reconnected');
  holdSockets = false;

  await page.waitForSelector(`#events li[data-id="${missed.id}"]`, { timeout: 40000 });
  await page.waitForSelector('#feed-pill[data-state="live"]', { timeout: SLOW });
  const retries = sockets.slice(opened);
  assert.ok(retries.length >= 1, 'the page reconnected');
  for (const u of retries) assert.equal(new URL(u).searchParams.get('since'), newest, `since= the newest id held: ${u}`);
  // The restart left a gap marker, drawn as one.
  await page.waitForSelector('#events li.event-gap', { timeout: SLOW });
  assert.match(await page.textContent('#events li.event-gap'), /Possible gap/);
  const ids = await listIds();
  assert.equal(new Set(ids).size, ids.length, 'no duplicates after the replay');
  // And live again: a new event still arrives within 2 s.
  const ev = await trigger({ type: 'channel.chat.notification', notice_type: 'sub', user: 'after_restart' });
  await seeWithin(ev.id, ev.t0);
  assert.equal(await page.evaluate(() => window.__sevMarker), 'same document', 'no page navigation');
  assert.equal(page.__navigations(), 0, 'no page navigation');
});

test('no HTTP polling: each API request of the streamer page happened once', async () => {
  const api = requests.filter((r) => new URL(r.url).pathname.startsWith('/api/'));
  const events = api.filter((r) => /^\/api\/streamers\/[^/]+\/events/.test(new URL(r.url).pathname));
  assert.equal(events.length, 1, `events requests: ${events.map((r) => r.url).join(', ')}`);
  const counts = new Map();
  for (const r of api) counts.set(r.url, (counts.get(r.url) || 0) + 1);
  const repeated = [...counts].filter(([, n]) => n > 1);
  assert.deepEqual(repeated, [], 'no API URL requested twice');
  assert.deepEqual(problems, []);
  assert.deepEqual(await b.cspViolations(page), []);
  await b.shot(page, 'streamer-desktop.png', { fullPage: true });
});

test('phone-sized viewport: no horizontal scrolling, everything stacked', async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.waitForFunction(() => window.innerWidth === 390);
  assert.equal(await b.overflowX(page), false, 'no horizontal scroll at 390 px');
  await b.shot(page, 'streamer-phone.png');
  await page.setViewportSize({ width: 360, height: 740 });
  await page.waitForFunction(() => window.innerWidth === 360);
  assert.equal(await b.overflowX(page), false, 'no horizontal scroll at 360 px');
  await page.setViewportSize({ width: 1280, height: 900 });
});

test('keyboard: the skip link is first and leads to the main content', async () => {
  await page.evaluate(() => document.activeElement?.blur());
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.keyboard.press('Tab');
  const first = await page.evaluate(() => ({ cls: document.activeElement.className, text: document.activeElement.textContent }));
  assert.match(first.cls, /skip-link/);
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => location.hash === '#main');
  assert.deepEqual(problems, []);
});

test('overlay: transparent ticker, query parameters, numbers match the API', async () => {
  const overlay = await context.newPage();
  const oproblems = b.watch(overlay);
  await overlay.routeWebSocket(/\/ws\?/, (ws) => ws.connectToServer());
  await overlay.goto(`${base}/streamer/${STREAMER}/overlay?limit=3&types=channel.chat.notification&theme=dark`);
  await overlay.waitForFunction(() => document.documentElement.dataset.feed === 'live', null, { timeout: SLOW });
  const api = await tw.api(sev, null, 'GET', `/api/streamers/${STREAMER}/events?limit=100`);
  const expected = api.body.events.filter((e) => e.type === 'channel.chat.notification').slice(0, 3).map((e) => e.id);
  assert.deepEqual(await overlay.$$eval('#ticker > li', (lis) => lis.map((li) => li.dataset.id)), expected);
  // Chromeless and transparent for OBS.
  const look = await overlay.evaluate(() => ({
    html: getComputedStyle(document.documentElement).backgroundColor,
    body: getComputedStyle(document.body).backgroundColor,
    header: !!document.querySelector('header, nav, footer'),
  }));
  assert.equal(look.html, 'rgba(0, 0, 0, 0)');
  assert.equal(look.body, 'rgba(0, 0, 0, 0)');
  assert.equal(look.header, false);
  // A live event of a listed type slides in; another type is filtered out.
  const ev = await trigger({ type: 'channel.chat.notification', notice_type: 'sub_gift', user: 'overlay_olly' });
  await overlay.waitForSelector(`#ticker li[data-id="${ev.id}"]`, { timeout: APPEAR_MS });
  const other = await trigger({ type: 'channel.raid', user: 'raider_ray', viewers: 5 });
  await page.waitForSelector(`#events li[data-id="${other.id}"]`, { timeout: SLOW }); // it did arrive
  assert.equal(await overlay.locator(`#ticker li[data-id="${other.id}"]`).count(), 0, 'types= filters');
  assert.equal(await overlay.locator('#ticker > li').count(), 3, 'limit=3');
  await b.shot(overlay, 'overlay.png', { omitBackground: true });
  // The light theme and the text-only theme.
  await overlay.goto(`${base}/streamer/${STREAMER}/overlay?limit=2&theme=light`);
  await overlay.waitForFunction(() => document.querySelectorAll('#ticker > li').length === 2, null, { timeout: SLOW });
  assert.equal(await overlay.getAttribute('body', 'class'), 'theme-light');
  // duration=2: an event leaves the screen by itself after about 2 s.
  await overlay.goto(`${base}/streamer/${STREAMER}/overlay?limit=5&types=channel.raid&duration=2&theme=transparent`);
  await overlay.waitForFunction(() => document.documentElement.dataset.feed === 'live', null, { timeout: SLOW });
  const brief = await trigger({ type: 'channel.raid', user: 'raider_rita', viewers: 9 });
  await overlay.waitForSelector(`#ticker li[data-id="${brief.id}"]`, { timeout: APPEAR_MS });
  await overlay.waitForSelector(`#ticker li[data-id="${brief.id}"]`, { state: 'detached', timeout: SLOW });
  assert.ok(Date.now() - brief.t0 >= 2000, 'stayed about 2 s');
  assert.deepEqual(oproblems, []);
  assert.deepEqual(await b.cspViolations(overlay), []);
  await overlay.close();
});

test('analytics: tables and charts agree with the stats API', async () => {
  const a = await context.newPage();
  const aproblems = b.watch(a);
  await a.goto(`${base}/analytics?streamer=${STREAMER}`);
  await a.waitForSelector('#per-streamer table', { timeout: SLOW });
  await a.waitForSelector('#per-type table', { timeout: SLOW });
  await a.waitForSelector('#per-hour svg', { timeout: SLOW });
  const perStreamer = (await tw.api(sev, null, 'GET', '/api/stats/streamers')).body;
  const rows = await a.$$eval('#per-streamer tbody tr', (trs) => trs.map((tr) => [tr.querySelector('th').textContent.trim(), tr.querySelector('td').textContent.trim()]));
  const fmt = (n) => n.toLocaleString('en-US');
  assert.deepEqual(Object.fromEntries(rows), Object.fromEntries(perStreamer.map((r) => [r.streamer, fmt(r.events)])));
  assert.ok(perStreamer.find((r) => r.streamer === STREAMER).events >= 20);

  const types = (await tw.api(sev, null, 'GET', `/api/stats/streamers/${STREAMER}/types`)).body;
  const typeRows = await a.$$eval('#per-type tbody tr', (trs) => trs.map((tr) => [tr.querySelector('th .mono').textContent.trim(), tr.querySelector('td').textContent.trim()]));
  assert.deepEqual(Object.fromEntries(typeRows), Object.fromEntries(types.map((r) => [r.type, fmt(r.events)])));
  // One SVG bar per type; the chart is a picture of the table.
  assert.equal(await a.locator('#per-type svg rect.bar').count(), types.length);

  const hourly = (await tw.api(sev, null, 'GET', `/api/stats/streamers/${STREAMER}/hourly?hours=24`)).body;
  const lastHour = hourly.reduce((s, r) => s + r.events, 0);
  assert.match(await a.textContent('#per-hour .hint'), new RegExp(`^${fmt(lastHour)} events in the last 24 hours`));
  assert.equal(await a.locator('#per-hour svg g title').count(), 24, '24 hourly columns');
  assert.equal(await b.overflowX(a), false);
  await b.shot(a, 'analytics.png', { fullPage: true });
  await a.setViewportSize({ width: 390, height: 844 });
  await a.waitForFunction(() => window.innerWidth === 390);
  assert.equal(await b.overflowX(a), false, 'analytics: no horizontal scroll on a phone');
  assert.deepEqual(aproblems, []);
  assert.deepEqual(await b.cspViolations(a), []);
  await a.close();
});

test('friendly 404 page, under the same CSP', async () => {
  const p = await context.newPage();
  const pp = b.watch(p, { allow: [/status of 404/] });
  const res = await p.goto(`${base}/no/such/page`);
  assert.equal(res.status(), 404);
  assert.match(await p.textContent('h1'), /\S/);
  assert.ok(await p.locator('a[href="/"]').count() > 0, 'a way back home');
  assert.deepEqual(pp, []);
  assert.deepEqual(await b.cspViolations(p), []);
  await p.close();
});
