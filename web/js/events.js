// events.js — how one SEV event looks: an icon, a text label (type is never shown by
// colour alone), the server's summary, a detail line from the EventSub payload, and times.
//
// Labels, icons and tones are not kept here: SEV's one table of EventSub types
// (src/event/event_types.c) serves them in the "labels" member of
// GET /api/streamers/{login}/capabilities ({types: {type: {label, plural, icon, tone}},
// variants: [{type, key, value, label, icon, tone}]}). Pages call loadLabels() before they
// render; until then (or for a type SEV does not know) events get a generic bell.

import { el, icon, relativeTime, parseTime, formatClock, formatAbsolute } from './ui.js';
import { api } from './api.js';

const GENERIC = { icon: 'i-bell', label: 'Event', tone: 'muted' };

let labels = { types: {}, variants: [] };
let loading = null;

// Takes the "labels" member of a capabilities answer.
export function setLabels(l) {
  if (!l || typeof l !== 'object') return;
  labels = {
    types: l.types && typeof l.types === 'object' ? l.types : {},
    variants: Array.isArray(l.variants) ? l.variants : [],
  };
}

// Fetches the labels once per page (any login answers with the same labels; the page's own
// streamer is used where there is one). Never rejects: without them events look generic.
export function loadLabels(login) {
  if (!loading) {
    const who = login || 'twitch';
    loading = api(`/api/streamers/${encodeURIComponent(who)}/capabilities`)
      .then((caps) => { setLabels(caps && caps.labels); return caps; })
      .catch(() => null);
  }
  return loading;
}

// The type's row, or null when SEV's table does not know the type.
export function typeRow(type) {
  const row = labels.types[type];
  return row && typeof row === 'object' ? row : null;
}

// Plural label for counts (analytics).
export function typeName(type) {
  const row = typeRow(type);
  return (row && (row.plural || row.label)) || type;
}

export function isGap(ev) {
  return !!ev && ev.type === 'sev.gap';
}

function variantMatches(v, d) {
  let actual = d[v.key];
  if (v.value === '*') return actual !== undefined && actual !== null && actual !== false;
  if (v.key === 'notice_type' && typeof actual === 'string') actual = actual.replace(/^shared_chat_/, '');
  return actual !== undefined && actual !== null && String(actual) === v.value;
}

// -> {icon, label, tone} for one event
export function describe(ev) {
  const d = (ev && ev.data) || {};
  const row = typeRow(ev && ev.type);
  let out = row ? { icon: row.icon, label: row.label, tone: row.tone } : GENERIC;
  for (const v of labels.variants) {
    if (v && v.type === ev.type && variantMatches(v, d)) {
      out = { icon: v.icon, label: v.label, tone: v.tone };
      break;
    }
  }
  return out;
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
    case 'channel.bits.use':
    case 'channel.channel_points_automatic_reward_redemption.add':
      return msgText(d.message);
    case 'channel.goal.begin':
    case 'channel.goal.progress':
    case 'channel.goal.end':
      return str(d.description);
    case 'channel.charity_campaign.donate':
    case 'channel.charity_campaign.start':
    case 'channel.charity_campaign.progress':
    case 'channel.charity_campaign.stop':
      return str(d.charity_description);
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
    if (!typeRow(ev.type)) typeEl.title = ev.type || 'unknown type';
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
