// ui.js — small DOM helpers shared by every page: element builder, icons, avatars,
// notices, times, a throttled screen-reader announcer, and the header's user area.
// Everything is built with createElement/textContent: no innerHTML with data, ever.

import { api, getMe } from './api.js';

const SVG_NS = 'http://www.w3.org/2000/svg';

// el('a', {href: '/', class: 'btn'}, 'text', child, ...). Attribute value false/null/undefined
// skips it; `dataset`, `text` and `on` (an object of event listeners) are special.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k === 'dataset') Object.assign(node.dataset, v);
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) node.addEventListener(ev, fn);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

// An <svg class="icon"> using a symbol of /icons.svg; decorative (aria-hidden).
export function icon(name, extraClass = '') {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('class', extraClass ? `icon ${extraClass}` : 'icon');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const use = document.createElementNS(SVG_NS, 'use');
  use.setAttribute('href', `/icons.svg#${name}`);
  svg.append(use);
  return svg;
}

// A round avatar: the image if it loads, else the first letter of the name.
export function avatar(url, name, extraClass = '') {
  const cls = `avatar ${extraClass}`.trim();
  const letter = () => el('span', { class: cls, 'aria-hidden': 'true' }, (name || '?').trim().charAt(0).toUpperCase() || '?');
  if (!url) return letter();
  const img = el('img', { class: cls, src: url, alt: '', width: 84, height: 84, loading: 'lazy', decoding: 'async', referrerpolicy: 'no-referrer' });
  img.addEventListener('error', () => img.replaceWith(letter()), { once: true });
  return img;
}

// A notice box: kind is info | ok | warn | error. `body` may be a string or nodes.
export function notice(kind, body, { dismissible = false, title = null } = {}) {
  const icons = { info: 'i-info', ok: 'i-check', warn: 'i-gap', error: 'i-gap' };
  const box = el('div', { class: `notice notice-${kind}` }, icon(icons[kind] || 'i-info'));
  const content = el('div', { class: 'notice-body' });
  if (title) content.append(el('p', {}, el('strong', {}, title)));
  content.append(typeof body === 'string' ? el('p', {}, body) : body);
  box.append(content);
  if (dismissible) {
    box.append(el('button', {
      type: 'button', class: 'dismiss', 'aria-label': 'Dismiss message',
      on: { click: () => box.remove() },
    }, icon('i-x')));
  }
  return box;
}

// ----- time -----

const absFmt = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'long' });
const clockFmt = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const dayClockFmt = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
const dateFmt = new Intl.DateTimeFormat(undefined, { year: 'numeric', month: 'short', day: 'numeric' });

export function parseTime(s) {
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? null : d;
}
export const formatAbsolute = (d) => absFmt.format(d);
export const formatDate = (d) => dateFmt.format(d);
export function formatClock(d, now = new Date()) {
  return d.toDateString() === now.toDateString() ? clockFmt.format(d) : dayClockFmt.format(d);
}

export function formatRelative(d, now = Date.now()) {
  const s = Math.round((now - d.getTime()) / 1000);
  if (s < 45) return 'just now';
  if (s < 90) return '1 min ago';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  if (s < 7 * 86400) {
    const days = Math.floor(s / 86400);
    return days === 1 ? 'yesterday' : `${days} days ago`;
  }
  return dateFmt.format(d);
}

// <time datetime="ISO" title="full date">2 min ago</time>, kept fresh by startRelativeClock().
export function relativeTime(iso) {
  const d = parseTime(iso);
  if (!d) return el('time', {}, 'unknown time');
  return el('time', {
    datetime: d.toISOString(), title: formatAbsolute(d), dataset: { rel: '1' },
  }, formatRelative(d));
}

let clockTimer = null;
export function startRelativeClock(intervalMs = 30000) {
  if (clockTimer) return;
  const tick = () => {
    const now = Date.now();
    for (const t of document.querySelectorAll('time[data-rel]')) {
      const d = parseTime(t.getAttribute('datetime'));
      if (d) {
        const text = formatRelative(d, now);
        if (t.textContent !== text) t.textContent = text;
      }
    }
  };
  clockTimer = setInterval(tick, intervalMs);
  document.addEventListener('visibilitychange', () => { if (!document.hidden) tick(); });
}

// ----- announcements for screen readers -----

// Collects short texts and speaks them through a polite live region at most once per
// `interval` ms: a burst of 3 events becomes one "3 new events: A, B, C".
export function createAnnouncer(region, { interval = 5000, noun = 'event', maxItems = 3 } = {}) {
  let pending = [];
  let last = 0;
  let timer = null;
  const flush = () => {
    timer = null;
    if (!pending.length) return;
    const items = pending;
    pending = [];
    last = Date.now();
    let text;
    if (items.length === 1) {
      text = `New ${noun}: ${items[0]}`;
    } else {
      const shown = items.slice(0, maxItems).join(', ');
      const rest = items.length - maxItems;
      text = `${items.length} new ${noun}s: ${shown}${rest > 0 ? `, and ${rest} more` : ''}`;
    }
    // Clear then set, so the same text twice is still announced.
    region.textContent = '';
    setTimeout(() => { region.textContent = text; }, 50);
  };
  return {
    push(text) {
      pending.push(text);
      if (timer) return;
      const wait = Math.max(0, last + interval - Date.now());
      timer = setTimeout(flush, wait);
    },
  };
}

// ----- page shell -----

// Reads ?error=, ?deleted=, ?logged_out= and shows a friendly message in `slot` (a fixed text
// per known error code), then strips the parameter from the address bar so a reload does not
// show it again.
const ERROR_TEXT = {
  session_expired: 'Your session expired. Please log in again.',
  expired: 'Your session expired. Please log in again.',
  access_denied: 'You cancelled the Twitch login. No problem: you can try again any time.',
  state: 'That login link was stale or had already been used. Please log in again.',
  bad_state: 'That login link was stale or had already been used. Please log in again.',
  invalid_state: 'That login link was stale or had already been used. Please log in again.',
  login_failed: "Twitch didn't let SEV finish logging you in. Please try again.",
  token: "Twitch didn't let SEV finish logging you in. Please try again.",
  twitch_unavailable: "Twitch isn't answering right now. Please try again in a minute.",
  no_twitch_app: 'This SEV has no Twitch application set up, so logging in is not possible here.',
  revoked: 'SEV lost access to your Twitch account (the connection was removed on Twitch). Log in again to reconnect.',
};

export function showFlash(slot) {
  const params = new URLSearchParams(location.search);
  let shown = false;
  const err = params.get('error');
  if (err) {
    // Only SEV's own words: anyone can send a link with ?error_description= (or any error
    // code) to put their text on SEV's page, so the description is never shown and an
    // unknown code gets the same fixed sentence.
    const text = Object.hasOwn(ERROR_TEXT, err) ? ERROR_TEXT[err] : 'Something went wrong. Please try again.';
    const body = el('p', {}, text, ' ');
    if (/session|expired|state|login|token|revoked|denied/.test(err)) body.append(el('a', { href: '/auth/login' }, 'Log in with Twitch'));
    slot.append(notice('warn', body, { dismissible: true }));
    shown = true;
  }
  if (params.has('deleted')) {
    slot.append(notice('ok', 'Your SEV account, your favorite and your Twitch tokens were deleted, and you’re logged out. Thanks for trying SEV.', { dismissible: true }));
    shown = true;
  }
  if (params.has('logged_out')) {
    slot.append(notice('ok', "You're logged out. See you next stream!", { dismissible: true }));
    shown = true;
  }
  if (shown) {
    for (const k of ['error', 'error_description', 'message', 'deleted', 'logged_out', 'state']) params.delete(k);
    const q = params.toString();
    history.replaceState(null, '', location.pathname + (q ? `?${q}` : '') + location.hash);
  }
}

export async function logout() {
  try {
    await api('/auth/logout', { method: 'POST' });
  } catch {
    // Even if the server failed, reloading shows the true state.
  }
  location.reload();
}

// Fills the header's #user-area: avatar + name + log out, or "Log in with Twitch".
// Resolves to the user (or null for a stranger); rejects if /api/me failed otherwise.
export async function initShell() {
  const area = document.getElementById('user-area');
  let me = null;
  let failure = null;
  try {
    me = await getMe();
  } catch (err) {
    failure = err;
  }
  if (area) {
    area.replaceChildren();
    if (me) {
      area.append(
        el('a', { class: 'user-chip', href: '/account', title: 'Your account' },
          avatar(me.profile_image_url, me.display_name, 'avatar-xs'),
          el('span', { class: 'name' }, me.display_name || me.login)),
        el('button', { type: 'button', class: 'btn btn-ghost btn-sm', on: { click: logout } }, icon('i-logout'), 'Log out'),
      );
    } else {
      area.append(el('a', { class: 'btn btn-primary btn-sm', href: '/auth/login' }, icon('i-twitch'), 'Log in with Twitch'));
    }
  }
  if (failure) throw failure;
  return me;
}

// Copies text; falls back to selecting an input when the Clipboard API is unavailable.
export async function copyText(text, input) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    if (input) {
      input.focus();
      input.select();
      try {
        return document.execCommand('copy');
      } catch {
        return false;
      }
    }
    return false;
  }
}

export function pluralize(n, one, many = `${one}s`) {
  return `${n.toLocaleString()} ${n === 1 ? one : many}`;
}
