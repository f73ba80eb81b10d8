// charts.js — two tiny SVG charts, no library: horizontal bars (a count per name) and
// columns (a count per hour). Charts are decoration beside a table that carries the same
// numbers, so the <svg> is aria-hidden; <title> elements give mouse users tooltips.
// Colours come from CSS classes (.bar, .col, .label, …) in sev.css. Charts redraw when
// their container changes width so text stays crisp at any size.

const NS = 'http://www.w3.org/2000/svg';

function s(tag, attrs = {}, text) {
  const n = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
  if (text !== undefined) n.textContent = text;
  return n;
}

function svgRoot(w, h) {
  return s('svg', { width: w, height: h, viewBox: `0 0 ${w} ${h}`, 'aria-hidden': 'true', focusable: 'false' });
}

// Rounds up to 1, 2, 2.5 or 5 × 10^n and returns [max, step] for about `ticks` gridlines.
export function niceScale(max, ticks = 4) {
  if (!(max > 0)) return [ticks, 1];
  const raw = max / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((v) => v >= raw);
  const niceStep = Math.max(1, step);
  return [Math.ceil(max / niceStep) * niceStep, niceStep];
}

const fmt = (n) => Number(n).toLocaleString();

function measure(text, px = 13) {
  return String(text).length * px * 0.56;
}

// Redraws draw(width) into container now and whenever its width changes.
function responsive(container, draw) {
  let lastW = 0;
  const run = () => {
    const w = Math.max(260, Math.floor(container.clientWidth || 600));
    if (w === lastW) return;
    lastW = w;
    container.replaceChildren(draw(w));
  };
  if (container._chartObserver) container._chartObserver.disconnect();
  lastW = 0;
  run();
  if ('ResizeObserver' in window) {
    container._chartObserver = new ResizeObserver(run);
    container._chartObserver.observe(container);
  }
}

// rows: [{label, value}] drawn top to bottom in the given order.
export function barChart(container, rows) {
  responsive(container, (W) => {
    const rowH = 30;
    const gap = 8;
    const maxLabel = Math.max(...rows.map((r) => measure(r.label)), 40);
    const labelW = Math.min(Math.round(W * 0.38), Math.ceil(maxLabel) + 12);
    const valueW = Math.max(...rows.map((r) => measure(fmt(r.value), 12)), 20) + 12;
    const barMax = Math.max(20, W - labelW - valueW);
    const max = Math.max(1, ...rows.map((r) => r.value));
    const H = rows.length * (rowH + gap) - gap;
    const svg = svgRoot(W, Math.max(H, rowH));
    rows.forEach((r, i) => {
      const y = i * (rowH + gap);
      const g = s('g');
      g.append(s('title', {}, `${r.label}: ${fmt(r.value)}`));
      let label = String(r.label);
      while (label.length > 3 && measure(label) > labelW - 10) label = `${label.slice(0, -2)}…`;
      g.append(s('text', { class: 'label', x: labelW - 10, y: y + rowH / 2, 'text-anchor': 'end', 'dominant-baseline': 'central' }, label));
      g.append(s('rect', { class: 'bar-track', x: labelW, y: y + 3, width: barMax, height: rowH - 6, rx: 5 }));
      const w = r.value > 0 ? Math.max(3, (r.value / max) * barMax) : 0;
      g.append(s('rect', { class: 'bar', x: labelW, y: y + 3, width: w.toFixed(1), height: rowH - 6, rx: 5 }));
      g.append(s('text', { class: 'value', x: labelW + w + 8, y: y + rowH / 2, 'dominant-baseline': 'central' }, fmt(r.value)));
      svg.append(g);
    });
    return svg;
  });
}

// rows: [{label, short, value}] left to right; `short` is the axis text (every nth shown).
export function columnChart(container, rows, { height = 220 } = {}) {
  responsive(container, (W) => {
    const max = Math.max(0, ...rows.map((r) => r.value));
    const [top, step] = niceScale(max || 4, 4);
    const left = Math.max(28, measure(fmt(top), 12) + 12);
    const right = 8;
    const topPad = 10;
    const bottom = 26;
    const plotW = W - left - right;
    const plotH = height - topPad - bottom;
    const svg = svgRoot(W, height);
    for (let v = 0; v <= top; v += step) {
      const y = topPad + plotH - (v / top) * plotH;
      svg.append(s('line', { class: v === 0 ? 'axis' : 'grid-line', x1: left, x2: W - right, y1: y.toFixed(1), y2: y.toFixed(1) }));
      svg.append(s('text', { x: left - 6, y: y.toFixed(1), 'text-anchor': 'end', 'dominant-baseline': 'central' }, fmt(v)));
    }
    const n = Math.max(1, rows.length);
    const slot = plotW / n;
    const colW = Math.max(2, Math.min(36, slot * 0.7));
    const labelW = Math.max(...rows.map((r) => measure(r.short ?? r.label, 12))) + 10;
    const every = [1, 2, 3, 4, 6, 8, 12].find((k) => k * slot >= labelW) || 12;
    rows.forEach((r, i) => {
      const x = left + i * slot + (slot - colW) / 2;
      const h = top ? (r.value / top) * plotH : 0;
      const g = s('g');
      g.append(s('title', {}, `${r.label}: ${fmt(r.value)}`));
      if (r.value > 0) {
        g.append(s('rect', { class: 'col', x: x.toFixed(1), y: (topPad + plotH - h).toFixed(1), width: colW.toFixed(1), height: Math.max(1, h).toFixed(1), rx: Math.min(4, colW / 3).toFixed(1) }));
      } else {
        g.append(s('rect', { class: 'col zero', x: x.toFixed(1), y: (topPad + plotH - 2).toFixed(1), width: colW.toFixed(1), height: 2 }));
      }
      // a transparent full-height target so the tooltip is easy to hit
      g.append(s('rect', { x: (left + i * slot).toFixed(1), y: topPad, width: slot.toFixed(1), height: plotH, fill: 'transparent' }));
      svg.append(g);
      if ((rows.length - 1 - i) % every === 0) {
        svg.append(s('text', { x: (x + colW / 2).toFixed(1), y: height - 8, 'text-anchor': 'middle' }, r.short ?? r.label));
      }
    });
    return svg;
  });
}
