// following.js — the "channels you follow" list shared by the home and account pages:
// live badges, a filter box, and one-click "Make favorite".
//
// mountFollowing(root, {favoriteLogin, onMakeFavorite}) fills `root` (an empty element) and
// returns {setFavorite(login), reload()}. onMakeFavorite(channel) must return a promise; it
// rejects with an Error whose message is shown next to the list.

import { api } from './api.js';
import { el, icon, avatar, notice, pluralize } from './ui.js';

const COLLAPSED = 12;
let uid = 0;

export function mountFollowing(root, { favoriteLogin = null, onMakeFavorite } = {}) {
  const id = `following-${++uid}`;
  let channels = [];
  let favorite = favoriteLogin;
  let expanded = false;

  const search = el('input', {
    id: `${id}-q`, class: 'input', type: 'search', placeholder: 'Filter by name…',
    autocomplete: 'off', spellcheck: 'false', 'aria-describedby': `${id}-count`,
  });
  const count = el('p', { id: `${id}-count`, class: 'following-count', role: 'status', 'aria-live': 'polite' });
  const tools = el('div', { class: 'following-tools' },
    el('label', { class: 'visually-hidden', for: `${id}-q` }, 'Filter followed channels'),
    el('div', { class: 'input-with-icon' }, icon('i-search'), search),
    count);
  const list = el('ul', { class: 'channel-list', 'aria-label': 'Followed channels' });
  const more = el('div', { class: 'list-more' });
  const errorSlot = el('div', { 'aria-live': 'polite' });
  root.replaceChildren(
    errorSlot,
    tools,
    el('div', { class: 'stack' }, el('span', { class: 'skeleton tall' }), el('span', { class: 'skeleton tall' })),
  );

  function channelItem(ch) {
    const name = ch.display_name || ch.login;
    const isFav = favorite && ch.login.toLowerCase() === favorite.toLowerCase();
    const status = el('span', { class: 'status' },
      ch.live ? el('span', { class: 'badge badge-live' }, 'Live') : 'Offline');
    const btn = el('button', {
      type: 'button',
      class: `btn btn-sm ${isFav ? 'is-favorite' : 'btn-ghost'}`,
      'aria-disabled': isFav ? 'true' : false,
      'aria-label': isFav ? `${name} is your favorite` : `Make ${name} your favorite`,
      dataset: { login: ch.login },
    }, isFav ? icon('i-star') : null, isFav ? 'Favorite' : 'Make favorite');
    btn.addEventListener('click', async () => {
      if (btn.getAttribute('aria-disabled') === 'true' || btn.getAttribute('aria-busy') === 'true' || !onMakeFavorite) return;
      btn.setAttribute('aria-busy', 'true');
      errorSlot.replaceChildren();
      try {
        await onMakeFavorite(ch);
      } catch (err) {
        errorSlot.append(notice('error', `Couldn't make ${name} your favorite: ${err.message}`, { dismissible: true }));
      } finally {
        btn.removeAttribute('aria-busy');
        // The list may have been re-rendered: keep focus on this channel's (new) button.
        const fresh = list.querySelector(`button[data-login="${CSS.escape(ch.login)}"]`) || btn;
        if (fresh.isConnected) fresh.focus();
      }
    });
    return el('li', { class: `channel${ch.live ? ' is-live' : ''}` },
      avatar(ch.profile_image_url, name),
      el('div', { class: 'channel-name' },
        el('a', { href: `/streamer/${encodeURIComponent(ch.login)}` }, name),
        status),
      btn);
  }

  function render() {
    const q = search.value.trim().toLowerCase();
    const matches = channels.filter((c) => !q
      || c.login.toLowerCase().includes(q)
      || (c.display_name || '').toLowerCase().includes(q));
    const shown = q || expanded ? matches : matches.slice(0, COLLAPSED);
    list.replaceChildren(...shown.map(channelItem));
    const live = channels.filter((c) => c.live).length;
    if (q) {
      count.textContent = matches.length
        ? `${pluralize(matches.length, 'match', 'matches')} of ${channels.length}`
        : `No followed channel matches “${search.value.trim()}”`;
    } else {
      count.textContent = `${pluralize(channels.length, 'channel')} · ${live.toLocaleString()} live`;
    }
    more.replaceChildren();
    if (!q && !expanded && matches.length > COLLAPSED) {
      more.append(el('button', {
        type: 'button', class: 'btn btn-ghost btn-sm',
        on: { click: () => { expanded = true; render(); list.children[COLLAPSED]?.querySelector('a')?.focus(); } },
      }, `Show all ${channels.length} channels`));
    }
  }

  async function load() {
    try {
      const data = await api('/api/me/following');
      channels = (Array.isArray(data) ? data : (data && data.channels) || [])
        .filter((c) => c && c.login)
        .sort((a, b) => (b.live === true) - (a.live === true)
          || (a.display_name || a.login).localeCompare(b.display_name || b.login));
      if (!channels.length) {
        root.replaceChildren(el('div', { class: 'empty' },
          el('p', {}, "You don't follow any channels on Twitch yet. Follow a few there, or type a streamer's name above.")));
        return;
      }
      root.replaceChildren(errorSlot, tools, list, more);
      render();
    } catch (err) {
      root.replaceChildren(notice('error', el('p', {},
        `Couldn't load the channels you follow: ${err.message} `,
        el('button', { type: 'button', class: 'btn-link', on: { click: load } }, 'Try again'))));
    }
  }

  search.addEventListener('input', render);
  load();

  return {
    setFavorite(login) {
      favorite = login;
      if (channels.length) render();
    },
    reload: load,
  };
}
