// account.js — /account: profile, followed channels, and "Delete my account".
//
// API: GET /api/me (optional extra fields: created_at, scopes), GET /api/me/following,
//      PUT /api/me/favorite, DELETE /api/me -> 204 -> /?deleted=1.

import { api } from './api.js';
import { el, avatar, notice, initShell, showFlash, formatDate, formatAbsolute, parseTime } from './ui.js';
import { mountFollowing } from './following.js';

const $ = (id) => document.getElementById(id);

showFlash($('flash'));

function fact(dt, dd) {
  return [el('dt', {}, dt), el('dd', {}, dd)];
}

function renderProfile(me) {
  const name = me.display_name || me.login;
  $('profile-avatar').replaceChildren(avatar(me.profile_image_url, name, 'avatar-lg'));
  $('profile-name').textContent = name;
  $('profile-login').textContent = `@${me.login} on Twitch`;
  const facts = $('profile-facts');
  facts.append(...fact('Favorite streamer', me.favorite
    ? el('a', { href: `/streamer/${encodeURIComponent(me.favorite.login)}` }, me.favorite.display_name || me.favorite.login)
    : el('span', { class: 'muted' }, 'None yet — ', el('a', { href: '/' }, 'pick one'))));
  const since = parseTime(me.created_at);
  if (since) facts.append(...fact('Member since', el('time', { datetime: since.toISOString(), title: formatAbsolute(since) }, formatDate(since))));
  const scopes = Array.isArray(me.scopes) ? me.scopes : typeof me.scopes === 'string' ? me.scopes.split(/\s+/).filter(Boolean) : null;
  if (scopes) {
    facts.append(...fact('Scopes granted', scopes.length
      ? el('ul', { class: 'scope-list', 'aria-label': 'Twitch permissions granted to SEV' }, ...scopes.map((s) => el('li', {}, s)))
      : el('span', { class: 'muted' }, 'None')));
  }
  facts.append(...fact('Twitch user id', el('span', { class: 'mono' }, me.id)));
}

function wireDelete() {
  const dialog = $('delete-dialog');
  const opener = $('delete-open');
  const confirmBtn = $('dlg-confirm');
  const errorSlot = $('dlg-error');
  opener.addEventListener('click', () => {
    errorSlot.replaceChildren();
    dialog.showModal();
    $('dlg-cancel').focus();
  });
  dialog.addEventListener('close', () => opener.focus());
  confirmBtn.addEventListener('click', async () => {
    confirmBtn.disabled = true;
    confirmBtn.textContent = 'Deleting…';
    errorSlot.replaceChildren();
    try {
      await api('/api/me', { method: 'DELETE' });
      location.assign('/?deleted=1');
    } catch (err) {
      confirmBtn.disabled = false;
      confirmBtn.textContent = 'Delete forever';
      errorSlot.append(notice('error', `Your account was not deleted: ${err.message}`));
    }
  });
}

async function main() {
  const me = await initShell();
  $('loading').hidden = true;
  if (!me) {
    $('logged-out').hidden = false;
    return;
  }
  $('account').hidden = false;
  renderProfile(me);
  const list = mountFollowing($('following'), {
    favoriteLogin: me.favorite ? me.favorite.login : null,
    onMakeFavorite: async (ch) => {
      const fav = await api('/api/me/favorite', { method: 'PUT', json: { login: ch.login } });
      me.favorite = (fav && fav.favorite) || fav || { login: ch.login, display_name: ch.display_name };
      list.setFavorite(me.favorite.login);
      $('profile-facts').replaceChildren();
      renderProfile(me);
    },
  });
  wireDelete();
}

main().catch((err) => {
  $('loading').hidden = true;
  const box = $('load-error');
  box.hidden = false;
  box.append(notice('error', `SEV couldn't load your account: ${err.message}`));
});
