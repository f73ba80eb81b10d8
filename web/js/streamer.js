// streamer.js — /streamer/{login}: status header, Twitch player + chat embeds, the 10 most
// recent events kept live over the WebSocket, the capability panel and the overlay link.
//
// API: GET /api/streamers/{login} (status), GET /api/streamers/{login}/events?limit=10,
//      GET /api/streamers/{login}/capabilities (optional), GET /config.json, GET /api/me,
//      PUT /api/me/favorite, WebSocket /ws?streamer={login}&since={newest id}.

import { api, ApiError, getConfig, LOGIN_RE } from './api.js';
import { el, icon, avatar, notice, initShell, showFlash, startRelativeClock, createAnnouncer, copyText, formatAbsolute } from './ui.js';
import { EventListView, announceText, loadLabels, typeRow } from './events.js';
import { LiveFeed, stateText } from './live.js';

const $ = (id) => document.getElementById(id);
const LIMIT = 10;

function loginFromPath() {
  const m = location.pathname.match(/^\/streamer\/([^/]+)/);
  if (!m) return '';
  try {
    return decodeURIComponent(m[1]).toLowerCase();
  } catch {
    return '';
  }
}

const login = loginFromPath();
// statusKnown: false until GET /api/streamers/{login} (or a stream.online/offline event) told us.
const state = { streamer: { login, display_name: login }, statusKnown: false, live: false, title: null, game_name: null, viewer_count: null, started_at: null };
let me = null;

showFlash($('flash'));

// ----- header -----

// "for 1 h 23 min" from an RFC 3339 start time, or null.
function liveFor(startedAt) {
  const t = Date.parse(startedAt || '');
  if (!Number.isFinite(t)) return null;
  const min = Math.max(0, Math.round((Date.now() - t) / 60000));
  if (min < 1) return 'just started';
  if (min < 60) return `live for ${min} min`;
  return `live for ${Math.floor(min / 60)} h ${String(min % 60).padStart(2, '0')} min`;
}

function renderHeader() {
  const s = state.streamer;
  const name = s.display_name || s.login;
  document.title = `${name} · SEV`;
  $('streamer-display').textContent = name;
  $('streamer-avatar').replaceChildren(avatar(s.profile_image_url, name, 'avatar-lg'));
  const badge = $('stream-badge');
  badge.replaceChildren();
  if (state.statusKnown) {
    badge.append(state.live
      ? el('span', { class: 'badge badge-live', id: 'live-badge' }, 'Live')
      : el('span', { class: 'badge badge-offline', id: 'live-badge' }, 'Offline'));
  }
  const meta = $('stream-meta');
  meta.replaceChildren();
  if (state.title) {
    meta.append(el('span', { class: 'stream-title', id: 'stream-title' },
      state.live || !state.statusKnown ? state.title : `Last title: ${state.title}`));
  } else if (state.statusKnown && !state.live) {
    meta.append(el('span', { class: 'stream-title' }, 'Not streaming right now.'));
  }
  const facts = el('span', { class: 'stream-facts' });
  if (state.game_name) facts.append(el('span', { id: 'stream-game' }, icon('i-poll'), state.game_name));
  if (state.live && Number.isFinite(state.viewer_count)) {
    facts.append(el('span', {}, icon('i-eye'), `${state.viewer_count.toLocaleString()} watching`));
  }
  const since = state.live ? liveFor(state.started_at) : null;
  if (since) facts.append(el('span', { title: formatAbsolute(new Date(state.started_at)) }, icon('i-live'), since));
  facts.append(el('span', {}, el('a', { href: `https://www.twitch.tv/${encodeURIComponent(s.login)}`, rel: 'noopener' }, `twitch.tv/${s.login}`)));
  meta.append(facts);
}

// GET /api/streamers/{login}: {"streamer", "live", "title", "game_name", "viewer_count",
// "started_at"}; "live": null means SEV does not know.
function applyInfo(info) {
  const st = info;
  if (typeof st.live === 'boolean') {
    state.statusKnown = true;
    state.live = st.live;
  }
  for (const k of ['title', 'game_name', 'started_at']) if (typeof st[k] === 'string' && st[k]) state[k] = st[k];
  state.viewer_count = Number.isFinite(st.viewer_count) ? st.viewer_count : null;
  state.streamer = { ...state.streamer, ...(info.streamer || {}) };
}

function renderActions() {
  const box = $('streamer-actions');
  box.replaceChildren();
  const isFav = me && me.favorite && me.favorite.login === login;
  if (isFav) {
    box.append(el('span', { class: 'badge badge-accent', tabindex: '-1' }, icon('i-star'), 'Your favorite'));
  } else if (me) {
    const btn = el('button', { type: 'button', class: 'btn btn-ghost' }, icon('i-star'), 'Make favorite');
    btn.addEventListener('click', async () => {
      btn.setAttribute('aria-busy', 'true');
      try {
        const fav = await api('/api/me/favorite', { method: 'PUT', json: { login } });
        me.favorite = (fav && fav.favorite) || fav || { login };
        if (!me.favorite.login) me.favorite.login = login;
        renderActions();
        box.querySelector('.badge')?.focus();
      } catch (err) {
        btn.removeAttribute('aria-busy');
        box.append(el('p', { class: 'field-error', role: 'alert' }, icon('i-gap'), el('span', {}, err.message)));
      }
    });
    box.append(btn);
  }
}

// An EventSub event that changes the header: keep it current without polling.
function applyToHeader(ev) {
  const d = ev.data || {};
  if (ev.type === 'stream.online') {
    state.live = true;
    state.statusKnown = true;
    state.started_at = typeof d.started_at === 'string' ? d.started_at : ev.created_at;
  } else if (ev.type === 'stream.offline') {
    state.live = false;
    state.statusKnown = true;
    state.viewer_count = null;
    state.started_at = null;
  } else if (ev.type === 'channel.update') {
    if (typeof d.title === 'string') state.title = d.title;
    if (typeof d.category_name === 'string') state.game_name = d.category_name;
  } else {
    return;
  }
  renderHeader();
}

// ----- embeds -----

// "https://player.twitch.tv/" stays as it is; a base with a path ("http://sim/embed/player/",
// the server adds a trailing slash to every embed base) loses the slash before "?channel=".
function playerBase(url) {
  const base = String(url || 'https://player.twitch.tv/');
  return base.replace(/^([a-z]+:\/\/[^/]+\/.*[^/])\/+$/i, '$1');
}

function buildEmbeds(cfg) {
  const player = $('player-box');
  const chat = $('chat-box');
  if (!cfg.embed_ok) {
    chat.remove();
    player.replaceWith(el('div', { class: 'embed-problem', id: 'embed-problem' }, notice('warn', el('p', {},
      cfg.embed_problem || 'Twitch embeds need HTTPS or localhost, so the player and chat can’t be shown here.',
      ' ', el('a', { href: `https://www.twitch.tv/${encodeURIComponent(login)}`, rel: 'noopener' }, `Watch on twitch.tv/${login}`)),
    { title: 'The stream and chat can’t be embedded here' })));
    return;
  }
  const parents = (Array.isArray(cfg.parents) && cfg.parents.length ? cfg.parents : [location.hostname])
    .map((p) => `parent=${encodeURIComponent(p)}`).join('&');
  const dark = !window.matchMedia('(prefers-color-scheme: light)').matches;
  const playerSrc = `${playerBase(cfg.player_url)}?channel=${encodeURIComponent(login)}&${parents}`;
  const chatSrc = `${cfg.chat_url}${encodeURIComponent(login)}/chat?${parents}${dark ? '&darkpopout' : ''}`;
  player.replaceChildren(el('iframe', {
    src: playerSrc, title: `${state.streamer.display_name || login}’s live stream`,
    allowfullscreen: true, scrolling: 'no',
  }));
  chat.replaceChildren(el('iframe', {
    src: chatSrc, title: `${state.streamer.display_name || login}’s chat`,
  }));
}

// ----- events -----

function setFeedState(s) {
  const pill = $('feed-pill');
  pill.dataset.state = s.state;
  $('feed-pill-text').textContent = stateText(s);
  // The countdown changes every second: speak only the state change, not each tick.
  const spoken = { live: 'Live updates connected.', reconnecting: 'Live updates lost. Reconnecting.', offline: 'You are offline. Live updates paused.' }[s.state];
  const status = $('feed-status');
  if (spoken && status.dataset.last !== s.state) {
    status.dataset.last = s.state;
    status.textContent = spoken;
  }
}

async function startEvents(initial) {
  const list = $('events');
  const view = new EventListView(list, { limit: LIMIT, emptyEl: $('events-empty') });
  view.setAll(initial);
  list.removeAttribute('aria-busy');
  startRelativeClock(30000);
  const announcer = createAnnouncer($('announcer'), { interval: 5000 });

  const newest = initial.find((ev) => ev.type !== 'sev.gap') || initial[0];
  const feed = new LiveFeed({
    streamer: login,
    since: newest ? newest.id : null,
    onState: setFeedState,
    onEvent: (ev) => {
      const li = view.add(ev);
      if (!li) return;
      applyToHeader(ev);
      announcer.push(announceText(ev));
    },
  });
  feed.markSeen(initial.map((ev) => ev.id));
  feed.start();
  window.addEventListener('pagehide', () => feed.stop());
  // Back/forward cache: a restored page picks up where it left off (since = newest id).
  window.addEventListener('pageshow', (e) => { if (e.persisted) feed.start(); });
}

// ----- capabilities -----

async function loadCapabilities() {
  const caps = await loadLabels(login); // null: unavailable, keep the panel hidden
  const types = caps && Array.isArray(caps.types) ? caps.types : [];
  if (!types.length) return;
  // One row per label (hype train begin/progress/end are one "Hype train"); what is not
  // received is grouped by its reason, so the panel stays short.
  const receiving = [];
  const missing = new Map(); // reason -> [label]
  const seen = new Set();
  for (const t of types) {
    const label = t.label || (typeRow(t.type) ? typeRow(t.type).plural : t.type);
    const yes = t.receiving === true;
    const key = `${yes}:${label}`;
    if (seen.has(key)) continue;
    seen.add(key);
    if (yes) receiving.push({ label, transport: t.transport });
    else {
      const why = t.reason || 'not available';
      if (!missing.has(why)) missing.set(why, []);
      missing.get(why).push(label);
    }
  }
  // Two groups of tags: what SEV receives, and what it does not (one group per reason).
  const group = (kind, head, labels) => el('section', { class: `cap-group ${kind}` },
    el('h3', { class: 'cap-head' }, icon(kind === 'yes' ? 'i-check' : 'i-x'), head),
    el('ul', { class: 'tags' }, ...labels.map((l) => el('li', { class: 'tag' }, l))));
  const groups = [];
  if (receiving.length) groups.push(group('yes', 'Receiving', receiving.map((r) => r.label)));
  for (const [why, labels] of missing) groups.push(group('no', `Not receiving: ${why}`, labels));
  // The broadcaster can unlock the rest by logging in with the broadcaster scopes.
  if ([...missing.keys()].some((why) => /broadcaster/i.test(why))) {
    groups.push(el('p', { class: 'fineprint cap-unlock' },
      `Are you ${state.streamer.display_name || login}? `,
      el('a', { href: '/auth/login?broadcaster=1' }, 'Log in as the broadcaster'),
      ' to let SEV receive follows, subs, cheers, redemptions, hype trains, polls and predictions too (read-only).'));
  }
  $('cap-list').replaceChildren(...groups);
  $('cap-summary').textContent = receiving.length
    ? `Receiving ${receiving.length} of ${receiving.length + [...missing.values()].reduce((n, l) => n + l.length, 0)} kinds of events.`
    : 'Not receiving any events yet.';
  $('cap-card').hidden = false;
}

// ----- overlay link -----

function wireOverlay(cfg) {
  const base = (cfg.public_url || location.origin).replace(/\/+$/, '');
  const limit = $('ov-limit');
  const theme = $('ov-theme');
  const duration = $('ov-duration');
  const types = $('ov-types');
  const out = $('overlay-url');
  const open = $('overlay-open');
  const update = () => {
    const q = new URLSearchParams();
    const n = Math.min(20, Math.max(1, parseInt(limit.value, 10) || 5));
    if (n !== 5) q.set('limit', String(n));
    if (theme.value !== 'dark') q.set('theme', theme.value);
    const dur = Math.max(0, parseInt(duration.value, 10) || 0);
    if (dur) q.set('duration', String(dur));
    const t = types.value.split(',').map((x) => x.trim()).filter(Boolean).join(',');
    if (t) q.set('types', t);
    const qs = q.toString().replace(/%2C/g, ',');
    const url = `${base}/streamer/${encodeURIComponent(login)}/overlay${qs ? `?${qs}` : ''}`;
    out.value = url;
    open.href = url;
  };
  for (const inp of [limit, theme, duration, types]) inp.addEventListener('input', update);
  $('overlay-builder').addEventListener('submit', (e) => e.preventDefault());
  update();
  const copyBtn = $('overlay-copy');
  copyBtn.addEventListener('click', async () => {
    const ok = await copyText(out.value, out);
    const label = copyBtn.querySelector('span');
    label.textContent = ok ? 'Copied!' : 'Press Ctrl+C';
    $('copy-status').textContent = ok ? 'Overlay URL copied to the clipboard.' : 'Copy failed: the URL is selected, press Ctrl+C.';
    setTimeout(() => { label.textContent = 'Copy'; }, 2000);
  });
}

// ----- unknown streamer -----

async function favoriteFromUnknown(btn, errSlot) {
  btn.setAttribute('aria-busy', 'true');
  errSlot.replaceChildren();
  try {
    await api('/api/me/favorite', { method: 'PUT', json: { login } });
    location.reload(); // SEV now listens to this streamer: load the page properly
  } catch (err) {
    btn.removeAttribute('aria-busy');
    errSlot.append(el('p', { class: 'field-error', role: 'alert' }, icon('i-gap'), el('span', {}, err.message)));
  }
}

function showUnknown(message) {
  $('known').hidden = true;
  $('stream-badge').replaceChildren();
  $('stream-meta').replaceChildren();
  $('streamer-actions').replaceChildren();
  const box = $('unknown');
  box.hidden = false;
  const valid = LOGIN_RE.test(login);
  const body = el('div', { class: 'stack' },
    el('p', {}, message || 'Nobody has made them a favorite yet, so SEV isn’t listening to their channel and has no events to show.'));
  if (valid && me) {
    const errSlot = el('div');
    const btn = el('button', { type: 'button', class: 'btn btn-primary' }, icon('i-star'), `Make ${login} my favorite`);
    btn.addEventListener('click', () => favoriteFromUnknown(btn, errSlot));
    body.append(el('p', {}, 'Make them your favorite and SEV starts collecting their events right away.'),
      el('div', { class: 'cluster' }, btn,
        el('a', { class: 'btn btn-ghost', href: `https://www.twitch.tv/${encodeURIComponent(login)}`, rel: 'noopener' }, `twitch.tv/${login}`, icon('i-external'))),
      errSlot);
  } else if (valid) {
    body.append(el('p', {}, 'Log in and make them your favorite: SEV starts collecting their events right away.'),
      el('div', { class: 'cluster' },
        el('a', { class: 'btn btn-primary', href: '/auth/login' }, icon('i-twitch'), 'Log in with Twitch'),
        el('a', { class: 'btn btn-ghost', href: `/?set_favorite=${encodeURIComponent(login)}` }, `Set ${login} as favorite`)));
  } else {
    body.append(el('p', {}, el('a', { href: '/' }, 'Pick a streamer on the home page')));
  }
  const title = valid ? `SEV hasn’t heard of ${login} yet` : 'That’s not a Twitch name';
  box.replaceChildren(el('section', { class: 'card', 'aria-labelledby': 'unknown-title' },
    el('h2', { id: 'unknown-title' }, title), body));
}

// ----- boot -----

async function main() {
  if (!LOGIN_RE.test(login)) {
    $('streamer-display').textContent = login || 'Unknown streamer';
    me = await initShell().catch(() => null);
    showUnknown(`“${login}” isn’t a valid Twitch name. Names use letters, digits and underscores.`);
    return;
  }
  const mePromise = initShell().catch(() => null);
  const cfgPromise = getConfig();
  const infoPromise = api(`/api/streamers/${encodeURIComponent(login)}`).catch((err) => err);
  const eventsPromise = api(`/api/streamers/${encodeURIComponent(login)}/events?limit=${LIMIT}`).catch((err) => err);
  const labelsPromise = loadLabels(login);

  const info = await infoPromise;
  if (info && !(info instanceof Error)) applyInfo(info);
  renderHeader();
  setInterval(() => { if (state.live) renderHeader(); }, 60000); // "live for …" stays right

  const events = await eventsPromise;
  me = await mePromise;
  await labelsPromise;
  if (events instanceof ApiError && events.status === 404) {
    showUnknown();
    return;
  }
  renderActions();
  const cfg = await cfgPromise;
  buildEmbeds(cfg);
  wireOverlay(cfg);
  loadCapabilities();

  if (events instanceof Error) {
    $('events').replaceChildren();
    $('events').removeAttribute('aria-busy');
    $('events-error').append(notice('error', `Couldn't load recent events: ${events.message} New events will still appear below.`));
    startEvents([]);
    return;
  }
  if (events.streamer) {
    state.streamer = { ...state.streamer, ...events.streamer };
    renderHeader();
  }
  startEvents(Array.isArray(events.events) ? events.events : []);
}

main().catch((err) => {
  $('flash').append(notice('error', `SEV couldn't load this page: ${err.message}`));
});
