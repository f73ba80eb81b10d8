// events.js — how one SEV event looks: an icon, a text label (type is never shown by
// colour alone), the server's summary, a detail line from the EventSub payload, and times.
//
// TYPES is the registry: one row per EventSub type. channel.chat.notification picks its row
// from data.notice_type (NOTICES); unknown types get a generic bell.

import { el, icon, relativeTime, parseTime, formatClock, formatAbsolute } from './ui.js';

// type -> [icon symbol, label, tone]
export const TYPES = {
  'stream.online': ['i-live', 'Went live', 'live'],
  'stream.offline': ['i-offline', 'Went offline', 'muted'],
  'channel.update': ['i-edit', 'Stream info changed', 'info'],
  'channel.follow': ['i-heart', 'Follow', 'follow'],
  'channel.subscribe': ['i-star', 'Subscription', 'sub'],
  'channel.subscription.end': ['i-star', 'Subscription ended', 'muted'],
  'channel.subscription.gift': ['i-gift', 'Gift subs', 'sub'],
  'channel.subscription.message': ['i-resub', 'Resub', 'sub'],
  'channel.cheer': ['i-bits', 'Cheer', 'bits'],
  'channel.bits.use': ['i-bits', 'Bits', 'bits'],
  'channel.raid': ['i-raid', 'Raid', 'raid'],
  'channel.channel_points_custom_reward_redemption.add': ['i-points', 'Reward redeemed', 'points'],
  'channel.channel_points_custom_reward_redemption.update': ['i-points', 'Redemption updated', 'points'],
  'channel.channel_points_automatic_reward_redemption.add': ['i-points', 'Reward redeemed', 'points'],
  'channel.hype_train.begin': ['i-hype', 'Hype train started', 'hype'],
  'channel.hype_train.progress': ['i-hype', 'Hype train progress', 'hype'],
  'channel.hype_train.end': ['i-hype', 'Hype train ended', 'hype'],
  'channel.poll.begin': ['i-poll', 'Poll started', 'poll'],
  'channel.poll.progress': ['i-poll', 'Poll update', 'poll'],
  'channel.poll.end': ['i-poll', 'Poll ended', 'poll'],
  'channel.prediction.begin': ['i-prediction', 'Prediction started', 'poll'],
  'channel.prediction.progress': ['i-prediction', 'Prediction update', 'poll'],
  'channel.prediction.lock': ['i-lock', 'Prediction locked', 'poll'],
  'channel.prediction.end': ['i-trophy', 'Prediction ended', 'poll'],
  'channel.ban': ['i-ban', 'Ban', 'mod'],
  'channel.unban': ['i-check', 'Unban', 'mod'],
  'channel.chat.message': ['i-chat', 'Chat message', 'chat'],
  'channel.chat.notification': ['i-megaphone', 'Chat notice', 'info'],
  'sev.gap': ['i-gap', 'Possible gap', 'gap'],
};

// channel.chat.notification notice_type -> [icon, label, tone]; shared_chat_* use the same rows.
export const NOTICES = {
  sub: ['i-star', 'Subscription', 'sub'],
  resub: ['i-resub', 'Resub', 'sub'],
  sub_gift: ['i-gift', 'Gift sub', 'sub'],
  community_sub_gift: ['i-gift', 'Gift subs', 'sub'],
  gift_paid_upgrade: ['i-upgrade', 'Sub upgrade', 'sub'],
  prime_paid_upgrade: ['i-upgrade', 'Prime upgrade', 'sub'],
  pay_it_forward: ['i-gift', 'Pay it forward', 'sub'],
  raid: ['i-raid', 'Raid', 'raid'],
  unraid: ['i-x', 'Raid cancelled', 'muted'],
  announcement: ['i-megaphone', 'Announcement', 'info'],
  bits_badge_tier: ['i-bits', 'Bits badge', 'bits'],
  charity_donation: ['i-heart', 'Charity donation', 'follow'],
};

const GENERIC = ['i-bell', 'Event', 'muted'];

// Plural labels for counts (analytics, capability panel fallback).
export const TYPE_NAMES = {
  'stream.online': 'Stream started',
  'stream.offline': 'Stream ended',
  'channel.update': 'Title & category changes',
  'channel.follow': 'Follows',
  'channel.subscribe': 'Subscriptions',
  'channel.subscription.gift': 'Gift subs',
  'channel.subscription.message': 'Resubs',
  'channel.cheer': 'Cheers',
  'channel.raid': 'Raids',
  'channel.channel_points_custom_reward_redemption.add': 'Channel point redemptions',
  'channel.hype_train.begin': 'Hype trains started',
  'channel.hype_train.progress': 'Hype train progress',
  'channel.hype_train.end': 'Hype trains ended',
  'channel.poll.begin': 'Polls started',
  'channel.poll.progress': 'Poll updates',
  'channel.poll.end': 'Polls ended',
  'channel.prediction.begin': 'Predictions started',
  'channel.prediction.progress': 'Prediction updates',
  'channel.prediction.lock': 'Predictions locked',
  'channel.prediction.end': 'Predictions ended',
  'channel.ban': 'Bans & timeouts',
  'channel.chat.message': 'Cheers in chat',
  'channel.chat.notification': 'Chat notices (subs, raids, …)',
  'sev.gap': 'Possible gaps',
};

export function typeName(type) {
  return TYPE_NAMES[type] || (TYPES[type] ? TYPES[type][1] : type);
}

export function isGap(ev) {
  return !!ev && ev.type === 'sev.gap';
}

// -> {icon, label, tone} for one event
export function describe(ev) {
  const d = (ev && ev.data) || {};
  let row = TYPES[ev && ev.type] || GENERIC;
  if (ev.type === 'channel.chat.notification' && typeof d.notice_type === 'string') {
    row = NOTICES[d.notice_type.replace(/^shared_chat_/, '')] || row;
  } else if (ev.type === 'channel.ban' && d.is_permanent === false) {
    row = ['i-timeout', 'Timeout', 'mod'];
  } else if (ev.type === 'channel.chat.message' && d.cheer && d.cheer.bits) {
    row = ['i-bits', 'Cheer', 'bits'];
  } else if (ev.type === 'channel.subscribe' && d.is_gift) {
    row = ['i-gift', 'Gifted sub', 'sub'];
  }
  return { icon: row[0], label: row[1], tone: row[2] };
}

const str = (v) => (typeof v === 'string' && v.trim() ? v.trim() : null);

// A fallback one-liner when the server sent no summary.
function fallbackSummary(ev, label) {
  const who = ev.viewer_name || ev.viewer_login;
  return who ? `${who}: ${label}` : label;
}

// The interesting payload detail beyond the summary (message text, title, reward, …).
export function detailOf(ev) {
  const d = (ev && ev.data) || {};
  const msgText = (m) => (typeof m === 'string' ? str(m) : m && str(m.text));
  switch (ev.type) {
    case 'channel.update':
      return [str(d.title), str(d.category_name)].filter(Boolean).join(' · ') || null;
    case 'channel.cheer':
      return msgText(d.message);
    case 'channel.subscription.message':
    case 'channel.chat.message':
      return msgText(d.message);
    case 'channel.chat.notification': {
      const typed = msgText(d.message);
      const sys = str(d.system_message);
      if (typed) return typed;
      return sys && sys !== ev.summary ? sys : null;
    }
    case 'channel.channel_points_custom_reward_redemption.add': {
      const title = d.reward && str(d.reward.title);
      const input = str(d.user_input);
      if (title && input) return `${title}: “${input}”`;
      return title || input;
    }
    case 'channel.ban':
      return str(d.reason) ? `Reason: ${d.reason}` : null;
    case 'channel.poll.begin':
    case 'channel.poll.progress':
    case 'channel.poll.end':
    case 'channel.prediction.begin':
    case 'channel.prediction.progress':
    case 'channel.prediction.lock':
    case 'channel.prediction.end':
      return str(d.title);
    default:
      return null;
  }
}

// Gap markers: data.from / data.to (RFC 3339) and data.reason. Tolerates a few synonyms.
export function gapRange(ev) {
  const d = (ev && ev.data) || {};
  const from = parseTime(d.from || d.from_at || d.start || d.started_at || d.since);
  const to = parseTime(d.to || d.to_at || d.end || d.ended_at || d.until || ev.created_at);
  return { from, to, reason: str(d.reason) };
}

export function gapText(ev) {
  const { from, to } = gapRange(ev);
  const now = new Date();
  if (from && to) return `Possible gap from ${formatClock(from, now)} to ${formatClock(to, now)}`;
  if (from) return `Possible gap since ${formatClock(from, now)}`;
  if (to) return `Possible gap until ${formatClock(to, now)}`;
  return 'Possible gap in the event history';
}

// Short text for the screen-reader announcer.
export function announceText(ev) {
  if (isGap(ev)) return gapText(ev);
  const { label } = describe(ev);
  return str(ev.summary) || fallbackSummary(ev, label);
}

// One <li class="event">. opts.isNew adds the slide-in animation.
export function renderEvent(ev, { isNew = false } = {}) {
  const desc = describe(ev);
  const li = el('li', {
    class: `event tone-${desc.tone}${isGap(ev) ? ' event-gap' : ''}${isNew ? ' is-new' : ''}`,
    dataset: { id: ev.id || '', type: ev.type || '' },
  });
  li.append(el('span', { class: 'event-icon' }, icon(desc.icon)));

  const body = el('div', { class: 'event-body' });
  if (isGap(ev)) {
    const { from, to, reason } = gapRange(ev);
    body.append(el('p', { class: 'event-summary' }, gapText(ev)));
    const why = reason ? `SEV was not receiving events (${reason}); some may be missing.` : 'SEV was not receiving events for a while; some may be missing.';
    body.append(el('p', { class: 'event-detail' }, why));
    const meta = el('p', { class: 'event-meta' }, el('span', { class: 'event-type' }, desc.label));
    if (from && to) {
      const secs = Math.max(0, Math.round((to - from) / 1000));
      const span = secs < 60 ? `${secs} s` : secs < 7200 ? `${Math.round(secs / 60)} min` : `${Math.round(secs / 3600)} h`;
      meta.append(el('span', { 'aria-hidden': 'true' }, '·'), el('span', { title: `${formatAbsolute(from)} – ${formatAbsolute(to)}` }, span));
    }
    body.append(meta);
  } else {
    body.append(el('p', { class: 'event-summary' }, str(ev.summary) || fallbackSummary(ev, desc.label)));
    const detail = detailOf(ev);
    const summary = str(ev.summary) || '';
    // Only what the summary does not already say ("Title changed to "X" (Game)" needs no "X · Game").
    const bare = (t) => t.toLowerCase().replace(/[\s.!?…]+$/u, '');
    const extra = detail ? detail.split(' · ').filter((part) => !bare(summary).includes(bare(part))).join(' · ') : '';
    if (extra) body.append(el('p', { class: 'event-detail' }, extra));
    const typeEl = el('span', { class: 'event-type' }, desc.label);
    if (!TYPES[ev.type]) typeEl.title = ev.type || 'unknown type';
    const when = parseTime(ev.created_at);
    body.append(el('p', { class: 'event-meta' }, typeEl, el('span', { 'aria-hidden': 'true' }, '·'), relativeTime(ev.created_at),
      when ? el('span', { class: 'event-abs' }, formatClock(when)) : null));
  }
  li.append(body);
  return li;
}

// Keeps a rendered, capped, deduplicated list of events, newest first.
export class EventListView {
  constructor(listEl, { limit = 10, filter = null, emptyEl = null } = {}) {
    this.list = listEl;
    this.limit = limit;
    this.filter = filter;
    this.emptyEl = emptyEl;
    this.seen = new Set();
    this.seenOrder = [];
  }

  remember(id) {
    if (!id) return;
    this.seen.add(id);
    this.seenOrder.push(id);
    if (this.seenOrder.length > 1000) this.seen.delete(this.seenOrder.shift());
  }

  has(id) {
    return !!id && this.seen.has(id);
  }

  // Initial history, newest first.
  setAll(events) {
    this.list.replaceChildren();
    for (const ev of events) {
      if (this.has(ev.id)) continue;
      this.remember(ev.id);
      if (this.filter && !this.filter(ev)) continue;
      if (this.list.children.length >= this.limit) continue;
      this.list.append(renderEvent(ev));
    }
    this.updateEmpty();
  }

  // A live event: returns the new <li>, or null if it was a duplicate or filtered out.
  add(ev) {
    if (!ev || this.has(ev.id)) return null;
    this.remember(ev.id);
    if (this.filter && !this.filter(ev)) return null;
    const li = renderEvent(ev, { isNew: true });
    this.list.prepend(li);
    while (this.list.children.length > this.limit) this.list.lastElementChild.remove();
    this.updateEmpty();
    return li;
  }

  updateEmpty() {
    if (this.emptyEl) this.emptyEl.hidden = this.list.children.length > 0;
  }
}
