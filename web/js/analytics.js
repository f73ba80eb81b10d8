// analytics.js — /analytics: events per streamer (bar chart + table), and for one picked
// streamer events per type (bar chart + table) and per hour over 24 h (column chart + table).
// Tables are the accessible source of truth; charts are aria-hidden pictures of them.
// The SQL behind these endpoints is in docs/analytics.md (plans in docs/storage.md).
//
// API: GET /api/stats/streamers, GET /api/stats/streamers/{login}/types,
//      GET /api/stats/streamers/{login}/hourly?hours=24, GET /api/me (default pick).

import { api, ApiError, getMe } from './api.js';
import { el, notice, initShell } from './ui.js';
import { barChart, columnChart } from './charts.js';
import { typeName, loadLabels } from './events.js';

const $ = (id) => document.getElementById(id);
const fmt = (n) => Number(n || 0).toLocaleString();

function table(caption, headers, rows, { hidden = false } = {}) {
  const t = el('table', {},
    el('caption', { class: hidden ? 'visually-hidden' : null }, caption),
    el('thead', {}, el('tr', {}, ...headers.map((h, i) => el('th', { scope: 'col', class: i > 0 ? 'num' : null }, h)))),
    el('tbody', {}, ...rows.map((r) => el('tr', {},
      el('th', { scope: 'row' }, r[0]),
      ...r.slice(1).map((c) => el('td', { class: 'num' }, c))))));
  return el('div', { class: 'table-wrap' }, t);
}

function figure(chartLabel, chartEl, tableEl) {
  return el('figure', { class: 'stack', 'aria-label': chartLabel }, chartEl, tableEl);
}

// ----- per streamer -----

async function loadStreamers() {
  const box = $('per-streamer');
  let rows;
  try {
    rows = await api('/api/stats/streamers');
  } catch (err) {
    box.replaceChildren(notice('error', `Couldn't load the counts: ${err.message}`));
    return [];
  }
  rows = (Array.isArray(rows) ? rows : []).filter((r) => r && r.streamer)
    .sort((a, b) => (b.events || 0) - (a.events || 0));
  if (!rows.length) {
    box.replaceChildren(el('div', { class: 'empty' }, el('p', {}, 'No events stored yet. Once someone picks a favorite, their events show up here.')));
    return [];
  }
  const total = rows.reduce((s, r) => s + (r.events || 0), 0);
  $('per-streamer-sub').textContent = `All time: ${fmt(total)} events across ${fmt(rows.length)} streamer${rows.length === 1 ? '' : 's'}.`;
  const chart = el('div', { class: 'chart' });
  const top = rows.slice(0, 15);
  const tableRows = rows.map((r) => [
    el('a', { href: `/streamer/${encodeURIComponent(r.streamer)}` }, r.streamer),
    fmt(r.events),
    total ? `${((100 * (r.events || 0)) / total).toFixed(1)} %` : '–',
  ]);
  box.replaceChildren(figure(
    'Events per streamer',
    chart,
    table('Events per streamer, all time', ['Streamer', 'Events', 'Share'], tableRows),
  ));
  if (rows.length > top.length) chart.after(el('p', { class: 'hint' }, `The chart shows the top ${top.length}; the table lists all ${rows.length}.`));
  barChart(chart, top.map((r) => ({ label: r.streamer, value: r.events || 0 })));
  return rows;
}

// ----- one streamer -----

let pickSeq = 0;

async function loadTypes(login, seq) {
  const box = $('per-type');
  box.replaceChildren(el('span', { class: 'skeleton tall' }));
  let rows;
  try {
    rows = await api(`/api/stats/streamers/${encodeURIComponent(login)}/types`);
  } catch (err) {
    if (seq !== pickSeq) return;
    box.replaceChildren(notice('error', err instanceof ApiError && err.status === 404 ? `SEV has no events for ${login}.` : `Couldn't load: ${err.message}`));
    return;
  }
  if (seq !== pickSeq) return;
  rows = (Array.isArray(rows) ? rows : []).filter((r) => r && r.type).sort((a, b) => (b.events || 0) - (a.events || 0));
  if (!rows.length) {
    box.replaceChildren(el('div', { class: 'empty' }, el('p', {}, `No events for ${login} yet.`)));
    return;
  }
  const chart = el('div', { class: 'chart' });
  box.replaceChildren(figure(
    `Events per type for ${login}`,
    chart,
    table(`Events per type for ${login}`, ['Event type', 'Events'],
      rows.map((r) => [typeName(r.type) === r.type
        ? el('span', { class: 'mono small' }, r.type)
        : el('span', {}, typeName(r.type), ' ', el('span', { class: 'muted mono small' }, r.type)), fmt(r.events)]), { hidden: true }),
  ));
  barChart(chart, rows.map((r) => ({ label: typeName(r.type), value: r.events || 0 })));
}

const hourFmt = new Intl.DateTimeFormat(undefined, { hour: 'numeric' });
const hourLongFmt = new Intl.DateTimeFormat(undefined, { weekday: 'short', hour: '2-digit', minute: '2-digit' });

async function loadHourly(login, seq) {
  const box = $('per-hour');
  box.replaceChildren(el('span', { class: 'skeleton tall' }));
  let rows;
  try {
    rows = await api(`/api/stats/streamers/${encodeURIComponent(login)}/hourly?hours=24`);
  } catch (err) {
    if (seq !== pickSeq) return;
    box.replaceChildren(notice('info', err instanceof ApiError && err.status === 404
      ? 'Hourly counts aren’t available from this server yet.'
      : `Couldn't load hourly counts: ${err.message}`));
    return;
  }
  if (seq !== pickSeq) return;
  // Fill the 24 hours ending with the current one; the server may omit empty hours.
  const counts = new Map();
  for (const r of Array.isArray(rows) ? rows : []) {
    const t = Date.parse(r.hour);
    if (Number.isFinite(t)) counts.set(Math.floor(t / 3600000), (counts.get(Math.floor(t / 3600000)) || 0) + (r.events || 0));
  }
  const nowHour = Math.floor(Date.now() / 3600000);
  const hours = [];
  for (let h = nowHour - 23; h <= nowHour; h++) {
    const d = new Date(h * 3600000);
    hours.push({ label: hourLongFmt.format(d), short: hourFmt.format(d), value: counts.get(h) || 0, date: d });
  }
  const total = hours.reduce((s, h) => s + h.value, 0);
  const chart = el('div', { class: 'chart' });
  const details = el('details', { class: 'table-details' },
    el('summary', {}, 'Show the hourly numbers as a table'),
    table(`Events per hour for ${login}, last 24 hours (your local time)`, ['Hour starting', 'Events'],
      hours.map((h) => [el('time', { datetime: h.date.toISOString() }, h.label), fmt(h.value)])));
  box.replaceChildren(
    el('p', { class: 'hint' }, `${fmt(total)} events in the last 24 hours, in your local time.`),
    figure(`Events per hour for ${login}`, chart, details),
  );
  columnChart(chart, hours);
}

function pick(login, { push = true } = {}) {
  const seq = ++pickSeq;
  $('pick').value = login;
  const link = $('pick-link');
  link.href = `/streamer/${encodeURIComponent(login)}`;
  link.hidden = false;
  link.textContent = `Open ${login}’s live view`;
  if (push) {
    const q = new URLSearchParams(location.search);
    q.set('streamer', login);
    history.replaceState(null, '', `${location.pathname}?${q}`);
  }
  $('pick-status').textContent = `Showing ${login}.`;
  loadTypes(login, seq);
  loadHourly(login, seq);
}

async function main() {
  initShell().catch(() => {});
  const rows = await loadStreamers();
  await loadLabels(rows.length ? rows[0].streamer : null);
  const select = $('pick');
  if (!rows.length) {
    $('one-card').hidden = true;
    return;
  }
  select.replaceChildren(...rows.map((r) => el('option', { value: r.streamer }, `${r.streamer} (${fmt(r.events)})`)));
  select.disabled = false;
  select.addEventListener('change', () => pick(select.value));
  $('picker').addEventListener('submit', (e) => e.preventDefault());

  const wanted = new URLSearchParams(location.search).get('streamer');
  let first = rows.find((r) => r.streamer === wanted)?.streamer;
  if (!first) {
    const me = await getMe().catch(() => null);
    const fav = me && me.favorite && me.favorite.login;
    first = rows.find((r) => r.streamer === fav)?.streamer || rows[0].streamer;
  }
  pick(first, { push: false });
}

main();
