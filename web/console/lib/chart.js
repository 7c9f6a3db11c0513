// Small SVG charts built with DOM APIs (no markup strings, no inline style:
// the console's CSP allows neither): a bar chart of a series and a one-bar
// meter for tables.

const NS = 'http://www.w3.org/2000/svg';

export function svgEl(tag, attrs = {}, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

// A "nice" axis maximum ≥ v: 1, 2, 5, 10, 20, 50…
function niceMax(v) {
  if (v <= 1) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

// bars: [{ value, label, title }] oldest first; ticks: labels under every
// tickEvery-th bar. Returns an <svg>.
export function barChart(bars, { width = 1000, height = 190, tickEvery = 5, caption = '' } = {}) {
  const left = 34;
  const bottom = 22;
  const top = 10;
  const plotW = width - left - 6;
  const plotH = height - top - bottom;
  const max = niceMax(Math.max(0, ...bars.map((b) => b.value)));
  const svg = svgEl('svg', { class: 'chart', viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': caption });
  svg.append(svgEl('title', {}, caption));
  for (const f of [0, 0.5, 1]) {
    const y = top + plotH * (1 - f);
    svg.append(svgEl('line', { x1: left, x2: width - 6, y1: y, y2: y, class: 'chart-grid' }));
    svg.append(svgEl('text', { x: left - 5, y: y + 4, 'text-anchor': 'end', class: 'chart-axis' }, String(Math.round(max * f * 10) / 10)));
  }
  const slot = plotW / Math.max(1, bars.length);
  bars.forEach((b, i) => {
    const h = b.value ? Math.max(1.5, (b.value / max) * plotH) : 0;
    const x = left + i * slot + slot * 0.15;
    const r = svgEl('rect', {
      x, y: top + plotH - h, width: slot * 0.7, height: h, class: 'chart-bar', 'data-value': b.value, 'data-label': b.label,
    });
    r.append(svgEl('title', {}, b.title || `${b.label}: ${b.value}`));
    svg.append(r);
    if (i % tickEvery === 0 || i === bars.length - 1) {
      svg.append(svgEl('text', { x: x + slot * 0.35, y: height - 6, 'text-anchor': 'middle', class: 'chart-axis' }, b.label));
    }
  });
  return svg;
}

// A horizontal meter: value / max of the width.
export function meter(value, max, width = 120) {
  const svg = svgEl('svg', { class: 'meter', viewBox: `0 0 ${width} 10`, width, height: 10, 'aria-hidden': 'true' });
  svg.append(svgEl('rect', { x: 0, y: 0, width, height: 10, rx: 2, class: 'meter-bg' }));
  if (value > 0 && max > 0) svg.append(svgEl('rect', { x: 0, y: 0, width: Math.max(2, (value / max) * width), height: 10, rx: 2, class: 'meter-fg' }));
  return svg;
}
