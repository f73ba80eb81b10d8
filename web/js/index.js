// index.js — the home page. Strangers see what SEV is and "Log in with Twitch";
// a logged-in viewer sees their favorite (change / clear it) and the channels they follow.
//
// API: GET /api/me, PUT /api/me/favorite {"login"}, DELETE /api/me/favorite,
//      GET /api/me/following, GET /api/streamers/{login} (favorite's live status; optional).

import { api, ApiError, normalizeLogin, LOGIN_RE } from './api.js';
import { el, icon, avatar, notice, initShell, showFlash, startRelativeClock } from './ui.js';
import { renderEvent, loadLabels } from './events.js';
import { mountFollowing } from './following.js';

const $ = (id) => document.getElementById(id);

showFlash($('flash'));

let me = null;
let following = null;

function demoFeed() {
  const now = Date.now();
  const ago = (s) => new Date(now - s * 1000).toISOString();
  const demo = [
    { id: 'd1', type: 'channel.raid', summary: 'PixelPaladin raided with 312 viewers', created_at: ago(20), data: {} },
    { id: 'd2', type: 'channel.subscription.gift', summary: 'NightOwl gifted 5 Tier 1 subs', created_at: ago(95), data: {} },
    { id: 'd3', type: 'channel.cheer', summary: 'Mira cheered 500 bits', created_at: ago(240), data: { message: 'GG that clutch was insane' } },
    { id: 'd4', type: 'channel.follow', summary: 'Alice followed', created_at: ago(420), data: {} },
  ];
  $('demo-events').replaceChildren(...demo.map((ev) => renderEvent(ev)));
}

// ----- favorite card -----

async function renderFavorite(fav) {
  const slot = $('fav-current');
  slot.replaceChildren();
  $('fav-label').textContent = fav ? 'Change your favorite' : 'Set your favorite';
  if (!fav) {
    loadLatest(null);
    slot.append(el('div', { class: 'empty favorite-empty' },
      el('p', {}, 'No favorite yet. Pick a streamer below, or one of the channels you follow.')));
    return;
  }
  const name = fav.display_name || fav.login;
  const meta = el('p', {}, `twitch.tv/${fav.login}`);
  const heading = el('h3', { id: 'fav-name', tabindex: '-1' }, name);
  const box = el('div', { class: 'favorite-now' },
    avatar(fav.profile_image_url, name),
    el('div', { class: 'who' }, heading, meta),
    el('div', { class: 'cluster' },
      el('a', { class: 'btn btn-primary', href: `/streamer/${encodeURIComponent(fav.login)}` }, icon('i-pulse'), 'Open live view'),
      el('button', { type: 'button', class: 'btn btn-ghost', id: 'fav-clear', on: { click: clearFavorite } }, 'Clear', el('span', { class: 'visually-hidden' }, ' favorite'))));
  slot.append(box);
  loadLatest(fav);
  // Live status is a nicety: ignore any failure.
  try {
    const info = await api(`/api/streamers/${encodeURIComponent(fav.login)}`);
    if (info && info.live) {
      meta.replaceChildren(el('span', { class: 'badge badge-live' }, 'Live'), ' ', info.title || info.game_name || 'Streaming now');
    } else if (info) {
      meta.append(' · offline');
    }
  } catch {
    /* unknown or unavailable */
  }
}

// A one-off snapshot of the favorite's latest events (the live view is the live one).
let latestSeq = 0;
async function loadLatest(fav) {
  const seq = ++latestSeq;
  const card = $('latest-card');
  if (!fav) {
    card.hidden = true;
    return;
  }
  try {
    const res = await api(`/api/streamers/${encodeURIComponent(fav.login)}/events?limit=5`);
    if (seq !== latestSeq) return;
    const events = (res && Array.isArray(res.events) ? res.events : []);
    $('latest-heading').textContent = `Latest from ${fav.display_name || fav.login}`;
    $('latest-link').href = `/streamer/${encodeURIComponent(fav.login)}`;
    $('latest-events').replaceChildren(...(events.length
      ? events.map((ev) => renderEvent(ev))
      : [el('li', { class: 'empty' }, el('p', {}, 'Nothing yet. SEV is listening: events will show up as they happen.'))]));
    card.hidden = false;
  } catch {
    if (seq === latestSeq) card.hidden = true; // SEV may not know them yet
  }
}

function setStatus(text) {
  const s = $('fav-status');
  s.textContent = '';
  setTimeout(() => { s.textContent = text; }, 50);
}

async function saveFavorite(login) {
  const fav = await api('/api/me/favorite', { method: 'PUT', json: { login } });
  const favorite = fav && fav.favorite ? fav.favorite : fav; // tolerate {"favorite":{…}}
  me.favorite = favorite && favorite.login ? favorite : { login, display_name: login };
  await renderFavorite(me.favorite);
  if (following) following.setFavorite(me.favorite.login);
  setStatus(`${me.favorite.display_name || me.favorite.login} is now your favorite streamer.`);
  return me.favorite;
}

async function clearFavorite() {
  const btn = $('fav-clear');
  if (btn) btn.setAttribute('aria-busy', 'true');
  try {
    await api('/api/me/favorite', { method: 'DELETE' });
    me.favorite = null;
    await renderFavorite(null);
    if (following) following.setFavorite(null);
    setStatus('Favorite cleared.');
    $('fav-login').focus();
  } catch (err) {
    if (btn) btn.removeAttribute('aria-busy');
    showFieldError(`Couldn't clear your favorite: ${err.message}`, false);
  }
}

// ----- the form -----

function showFieldError(message, focusInput = true) {
  const input = $('fav-login');
  const err = $('fav-error');
  err.replaceChildren(icon('i-gap'), el('span', {}, message));
  err.hidden = false;
  input.setAttribute('aria-invalid', 'true');
  input.setAttribute('aria-describedby', 'fav-hint fav-error');
  if (focusInput) input.focus();
}

function clearFieldError() {
  const input = $('fav-login');
  $('fav-error').hidden = true;
  $('fav-error').replaceChildren();
  input.removeAttribute('aria-invalid');
  input.setAttribute('aria-describedby', 'fav-hint');
}

function wireForm() {
  const form = $('fav-form');
  const input = $('fav-login');
  const submit = $('fav-submit');
  input.addEventListener('input', () => { if (input.getAttribute('aria-invalid')) clearFieldError(); });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearFieldError();
    const login = normalizeLogin(input.value);
    if (!login) {
      showFieldError('Type a streamer’s Twitch name first.');
      return;
    }
    if (!LOGIN_RE.test(login)) {
      showFieldError('Twitch names use only letters, digits and underscores, up to 25 characters.');
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Saving…';
    try {
      await saveFavorite(login);
      input.value = '';
      $('fav-name')?.focus();
    } catch (err) {
      let msg = err.message;
      if (err instanceof ApiError && err.status === 404 && !(err.body && err.body.error)) msg = `Twitch has no user called “${login}”.`;
      if (err instanceof ApiError && err.status === 401) msg = 'Your session expired. Please log in again.';
      showFieldError(msg);
    } finally {
      submit.disabled = false;
      submit.textContent = 'Save favorite';
    }
  });
  // /?set_favorite=LOGIN (from a streamer page SEV doesn't know yet) pre-fills the form.
  const params = new URLSearchParams(location.search);
  const preset = params.get('set_favorite');
  if (preset) {
    input.value = normalizeLogin(preset);
    input.focus();
    params.delete('set_favorite');
    const q = params.toString();
    history.replaceState(null, '', location.pathname + (q ? `?${q}` : ''));
  }
}

// ----- boot -----

async function main() {
  try {
    me = await initShell();
  } catch {
    me = null;
  }
  await loadLabels(me && me.favorite ? me.favorite.login : null);
  $('loading').hidden = true;
  if (!me) {
    demoFeed();
    $('stranger').hidden = false;
    return;
  }
  $('dashboard').hidden = false;
  $('me-avatar').replaceWith(avatar(me.profile_image_url, me.display_name, 'avatar-lg'));
  $('welcome-title').textContent = `Hi, ${me.display_name || me.login}!`;
  wireForm();
  startRelativeClock(30000);
  renderFavorite(me.favorite);
  following = mountFollowing($('following'), {
    favoriteLogin: me.favorite ? me.favorite.login : null,
    onMakeFavorite: (ch) => saveFavorite(ch.login),
  });
}

main().catch((err) => {
  $('loading').hidden = true;
  const box = $('load-error');
  box.hidden = false;
  box.append(notice('error', `SEV couldn't load this page: ${err.message}`));
});
