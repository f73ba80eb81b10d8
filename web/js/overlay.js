// overlay.js — /streamer/{login}/overlay: a chromeless, transparent ticker for an OBS browser
// source. Query parameters:
//   limit=5          events on screen, 1..20
//   types=a,b        only these EventSub types (default: all); "sev.gap" markers are never shown
//   theme=dark       dark | light | transparent (text with a shadow, no card)
//   duration=0       seconds an event stays on screen; 0 = until pushed out by newer ones
//   status=1         show the connection pill (for setting up; off by default)
// Same protocol as the streamer page: history over HTTP, then /ws with since= and backoff.

import { api, ApiError, LOGIN_RE } from './api.js';
import { startRelativeClock } from './ui.js';
import { EventListView, isGap, loadLabels } from './events.js';
import { LiveFeed, stateText } from './live.js';

const params = new URLSearchParams(location.search);
const m = location.pathname.match(/^\/streamer\/([^/]+)\/overlay/);
let login = '';
try {
  login = m ? decodeURIComponent(m[1]).toLowerCase() : '';
} catch {
  login = '';
}

const clampInt = (v, lo, hi, dflt) => {
  const n = parseInt(v, 10);
  return Number.isFinite(n) ? Math.min(hi, Math.max(lo, n)) : dflt;
};
const limit = clampInt(params.get('limit'), 1, 20, 5);
const duration = clampInt(params.get('duration'), 0, 86400, 0);
const theme = ['dark', 'light', 'transparent'].includes(params.get('theme')) ? params.get('theme') : 'dark';
const types = (params.get('types') || '').split(',').map((t) => t.trim()).filter(Boolean);
const showStatus = params.get('status') === '1';

document.body.className = `theme-${theme}`;

const ticker = document.getElementById('ticker');
const note = document.getElementById('overlay-note');
const pill = document.getElementById('overlay-status');

const filter = (ev) => !isGap(ev) && (!types.length || types.includes(ev.type));

function expire(li) {
  if (!duration || !li) return;
  setTimeout(() => {
    if (!li.isConnected) return;
    li.classList.add('is-leaving');
    const done = () => li.remove();
    li.addEventListener('animationend', done, { once: true });
    setTimeout(done, 800); // reduced motion: no animationend
  }, duration * 1000);
}

function say(text) {
  note.textContent = text;
  note.hidden = false;
}

async function main() {
  if (!LOGIN_RE.test(login)) {
    say('SEV overlay: this URL does not name a valid Twitch streamer.');
    return;
  }
  const view = new EventListView(ticker, { limit, filter });
  await loadLabels(login);
  let history = [];
  try {
    // With a type filter, fetch more so the filter still leaves enough to show.
    const res = await api(`/api/streamers/${encodeURIComponent(login)}/events?limit=${types.length ? 100 : limit}`);
    history = Array.isArray(res.events) ? res.events : [];
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      say(`SEV hasn’t heard of ${login} yet. Make them a favorite on SEV first.`);
      return;
    }
    // Otherwise start empty: live events still arrive.
  }
  view.setAll(history);
  for (const li of ticker.children) expire(li);
  startRelativeClock(30000);

  const newest = history.find((ev) => !isGap(ev)) || null;
  const feed = new LiveFeed({
    streamer: login,
    since: newest ? newest.id : null,
    onState: (s) => {
      document.documentElement.dataset.feed = s.state;
      if (showStatus) {
        pill.hidden = false;
        pill.dataset.state = s.state;
        pill.textContent = stateText(s);
      }
    },
    onEvent: (ev) => expire(view.add(ev)),
  });
  feed.markSeen(history.map((ev) => ev.id));
  feed.start();
}

main();
