// The Dashboard page: the figures of GET /api/v1/stats (since the process
// started) kept live by the `stats` event (every http.stats_interval_s) and
// by a fresh fetch shortly after each message.new and session open/close;
// and messages delivered per minute over the last 30 minutes, an SVG bar
// chart seeded from GET /api/v1/messages (delivery times) and fed by
// message.new. Every figure shown carries data-stat="<path in the stats
// document>" and data-value="<the number>", so a test (or a person with
// the inspector) can compare it with the API.
import { describe } from '../api.js';
import { barChart, meter } from '../lib/chart.js';
import { SMTP_CODES } from '../lib/reply_codes.js';

const MINUTES = 30;
const SEED_LIMIT = 1000;  // newest messages looked at for the chart's past

const num = (n) => Number(n).toLocaleString('en-US');

function bytes(n) {
  const u = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = Number(n);
  while (v >= 1024 && i < u.length - 1) { v /= 1024; i += 1; }
  return i ? `${v.toFixed(1)} ${u[i]}` : `${v} B`;
}

function since(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d) return `${d} d ${h} h`;
  if (h) return `${h} h ${m} min`;
  if (m) return `${m} min ${s % 60} s`;
  return `${s} s`;
}

export function mount(root, ctx) {
  const { el, api, events } = ctx;
  const aborter = new AbortController();
  const cleanups = [];
  let stats = null;
  const perMinute = new Map();  // minute (Unix s / 60) → messages
  const counted = new Set();    // message ids already in perMinute

  // A number bound to a path of the stats document.
  const fig = (path, value, text = num(value)) =>
    el('span', { class: 'num', dataset: { stat: path, value: String(value) } }, text);

  const tiles = el('div', { class: 'dash-tiles' });
  const chartBox = el('div', { class: 'chart-box' });
  const boxes = el('tbody');
  const replies = el('tbody');
  const outcomes = el('tbody');
  const senders = el('tbody');
  const recipients = el('tbody');
  const status = el('p', { class: 'hint dash-status' }, 'Loading…');
  const uptime = el('span', { class: 'uptime' });

  const table = (heads, body) => el('table', { class: 'dash-table' },
    el('thead', {}, el('tr', {}, ...heads.map((h) => el('th', {}, h)))), body);
  root.append(
    el('h1', {}, 'Dashboard ', uptime),
    status,
    tiles,
    el('div', { class: 'dash-grid' },
      el('section', { class: 'card dash-chart' }, el('h2', {}, `Messages delivered per minute (last ${MINUTES} min)`), chartBox),
      el('section', { class: 'card' }, el('h2', {}, 'Mailboxes'), table(['mailbox', 'messages', 'octets', 'unseen'], boxes)),
      el('section', { class: 'card' }, el('h2', {}, 'SMTP replies by code'), table(['code', 'replies', ''], replies),
        el('h2', {}, 'DATA outcomes (the reply ending each message)'), table(['code', 'messages', ''], outcomes)),
      el('section', { class: 'card' }, el('h2', {}, 'Top senders'), table(['address', 'messages', '±'], senders),
        el('h2', {}, 'Top recipients'), table(['address', 'messages', '±'], recipients))));

  function tile(label, ...content) {
    return el('div', { class: 'tile' }, el('div', { class: 'tile-label' }, label), el('div', { class: 'tile-value' }, ...content));
  }

  function renderUptime() {
    if (!stats) return;
    uptime.textContent = '';
    uptime.append(el('span', { class: 'hint', title: `started ${new Date(stats.started_ms).toString()}` },
      `up ${since((Date.now() - stats.started_ms) / 1000)}`),
    el('span', { hidden: true, dataset: { stat: 'started_ms', value: String(stats.started_ms) } }));
  }

  function render(s) {
    stats = s;
    status.textContent = '';
    const { smtp, pop3 } = s;
    tiles.replaceChildren(
      tile('open sessions', fig('smtp.sessions_open', smtp.sessions_open), el('small', {}, ' SMTP  '),
        fig('pop3.sessions_open', pop3.sessions_open), el('small', {}, ' POP3')),
      tile('messages accepted', fig('smtp.messages_accepted', smtp.messages_accepted)),
      tile('octets accepted', fig('smtp.octets_accepted', smtp.octets_accepted), el('small', {}, ` ${bytes(smtp.octets_accepted)}`)),
      tile('messages stored', fig('index_messages', s.index_messages)),
      tile('SMTP connections', fig('smtp.connections', smtp.connections)),
      tile('POP3 connections', fig('pop3.connections', pop3.connections)),
      tile('POP3 logins', fig('pop3.logins', pop3.logins), el('small', {}, ' failed '), fig('pop3.login_failures', pop3.login_failures)),
      tile('POP3 RETR / DELE', fig('pop3.retr', pop3.retr), el('small', {}, ' / '), fig('pop3.dele', pop3.dele)),
      tile('commit latency', el('span', { class: 'num-soft' }, smtp.commit_latency.count
        ? `${((smtp.commit_latency.sum_seconds / smtp.commit_latency.count) * 1000).toFixed(1)} ms avg` : '—')),
    );
    const maxMsgs = Math.max(0, ...s.mailboxes.map((b) => b.messages));
    boxes.replaceChildren(...s.mailboxes.map((b, i) => el('tr', { dataset: { mailbox: b.name } },
      el('td', {}, el('a', { href: `#/mail?mailbox=${encodeURIComponent(b.name)}` }, b.name)),
      el('td', { class: 'n' }, fig(`mailboxes.${i}.messages`, b.messages), ' ', meter(b.messages, maxMsgs, 60)),
      el('td', { class: 'n', title: bytes(b.octets) }, fig(`mailboxes.${i}.octets`, b.octets)),
      el('td', { class: 'n' }, fig(`mailboxes.${i}.unseen`, b.unseen)))));
    if (!s.mailboxes.length) boxes.append(el('tr', {}, el('td', { colspan: 4, class: 'empty' }, 'No mailbox yet.')));
    const codes = (obj, path, body) => {
      const entries = Object.entries(obj).sort((a, b) => Number(a[0]) - Number(b[0]));
      const max = Math.max(0, ...entries.map(([, n]) => n));
      body.replaceChildren(...entries.map(([code, n]) => el('tr', {},
        el('td', {}, el('span', { class: `rc rc-${code[0]}`, title: `${code}: ${SMTP_CODES[code] || 'a reply code RFC 5321 does not list'}` }, code)),
        el('td', { class: 'n' }, fig(`${path}.${code}`, n)),
        el('td', {}, meter(n, max)))));
      if (!entries.length) body.append(el('tr', {}, el('td', { colspan: 3, class: 'empty' }, 'None yet.')));
    };
    codes(smtp.replies, 'smtp.replies', replies);
    codes(smtp.messages_by_reply, 'smtp.messages_by_reply', outcomes);
    const top = (list, path, body) => {
      body.replaceChildren(...list.map((t, i) => el('tr', {},
        el('td', { class: 'mono addr', title: t.address }, t.address),
        el('td', { class: 'n' }, fig(`${path}.${i}.messages`, t.messages)),
        el('td', { class: 'n hint', title: 'the Space-Saving counter\'s error bound: the true count is at least messages − this' },
          fig(`${path}.${i}.error`, t.error)))));
      if (!list.length) body.append(el('tr', {}, el('td', { colspan: 3, class: 'empty' }, 'No delivery yet.')));
    };
    top(s.top_senders, 'top_senders', senders);
    top(s.top_recipients, 'top_recipients', recipients);
    renderUptime();
    root.dataset.loaded = 'true';
  }

  function renderChart() {
    const now = Math.floor(Date.now() / 60000);
    const bars = [];
    for (let m = now - MINUTES + 1; m <= now; ++m) {
      const d = new Date(m * 60000);
      const hm = `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
      const v = perMinute.get(m) || 0;
      bars.push({ value: v, label: hm, title: `${hm}: ${v} message${v === 1 ? '' : 's'}` });
    }
    chartBox.replaceChildren(barChart(bars, { caption: 'messages delivered per minute' }));
    const total = bars.reduce((a, b) => a + b.value, 0);
    chartBox.dataset.total = String(total);
  }

  function count(id, timeSec) {
    if (counted.has(id)) return false;
    counted.add(id);
    const m = Math.floor(timeSec / 60);
    perMinute.set(m, (perMinute.get(m) || 0) + 1);
    return true;
  }

  async function load() {
    try {
      render(await api.get('/api/v1/stats', { top: 10 }, aborter.signal));
    } catch (e) {
      if (e.name !== 'AbortError') status.replaceChildren(el('span', { class: 'error-text' }, `Cannot load /api/v1/stats: ${describe(e)}`));
    }
  }

  let refetch = 0;
  const soon = () => {
    if (!refetch) refetch = setTimeout(() => { refetch = 0; load(); }, 250);
  };

  cleanups.push(events.subscribe('stats', (d) => render(d)));
  cleanups.push(events.subscribe('message.new', (d) => {
    if (count(d.id, d.time)) renderChart();
    soon();
  }));
  cleanups.push(events.subscribe('message.deleted', soon));
  cleanups.push(events.subscribe('session.open', soon));
  cleanups.push(events.subscribe('session.close', soon));

  load();
  renderChart();
  const seed = async () => {
    try {
      const r = await api.get('/api/v1/messages', { limit: SEED_LIMIT }, aborter.signal);
      const from = Date.now() / 1000 - MINUTES * 60;
      for (const m of r.messages) if (m.time >= from) count(m.id, m.time);
      renderChart();
    } catch (e) {
      if (e.name !== 'AbortError') chartBox.append(el('p', { class: 'hint' }, `(the chart starts now: ${describe(e)})`));
    }
  };
  seed();
  // Events lost while the stream was away: the figures and the chart's past
  // are asked for again (ids already counted are not counted twice).
  cleanups.push(events.subscribe('gap', () => { load(); seed(); }));
  const tick = setInterval(() => {
    renderUptime();
    if (new Date().getSeconds() === 0) renderChart();
  }, 1000);

  return () => {
    clearInterval(tick);
    if (refetch) clearTimeout(refetch);
    aborter.abort();
    for (const c of cleanups) c();
  };
}
