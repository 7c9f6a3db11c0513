// The Message page: one message as GET /api/v1/messages/{id} describes it.
// Subject, the From/To/Cc/Date headers with the SMTP envelope beside them,
// attachments, then tabs: HTML, Text, Headers, Received trace, MIME tree, Raw.
//
// Safety: nothing of the message is ever inserted as HTML into this page
// (every value goes through textContent). The HTML part is shown only in an
// iframe whose sandbox allows nothing (no scripts, no same origin), loaded
// from GET /api/v1/messages/{id}/parts/{n}?inline=1, whose own CSP lets the
// part load nothing but inline styles and data: images; "Load images" asks
// the same part with &images=1, whose CSP also allows http:/https: images.
import { fmtSize, fmtTime } from './mail.js';

function findHtmlPart(node) {
  if (!node) return null;
  if (node.parts) {
    for (const p of node.parts) {
      const found = findHtmlPart(p);
      if (found) return found;
    }
    return null;
  }
  return node.content_type.toLowerCase() === 'text/html' && !node.attachment ? node.part : null;
}

// A Received header → {from, by, with, id, for, date} (best effort: the
// trace shows the raw value as well).
export function parseReceived(value) {
  const v = value.replace(/\s+/g, ' ').trim();
  const semi = v.lastIndexOf(';');
  const main = semi >= 0 ? v.slice(0, semi) : v;
  const date = semi >= 0 ? v.slice(semi + 1).trim() : '';
  const pick = (word) => {
    const m = main.match(new RegExp(`(?:^|\\s)${word}\\s+(\\S+(?:\\s+\\([^)]*\\))?)`, 'i'));
    return m ? m[1] : '';
  };
  const t = Date.parse(date);
  return { from: pick('from'), by: pick('by'), with: pick('with'), id: pick('id'), for: pick('for'), date,
    ms: Number.isNaN(t) ? null : t, raw: v };
}

export function mount(root, ctx) {
  const { api, shortcuts, el, navigate, params } = ctx;
  const id = params.id;
  const base = `/api/v1/messages/${id}`;
  const aborter = new AbortController();
  const cleanups = [];
  let view = null;

  const back = el('a', { href: '#/mail', class: 'back', title: 'back to the list (u)' }, '← Mail');
  const delButton = el('button', { type: 'button', id: 'delete-message', class: 'danger', onclick: remove, disabled: true }, 'Delete');
  const status = el('div', { id: 'message-status', class: 'message-status', role: 'status' });
  const body = el('div', { class: 'message-body' }, el('p', { class: 'empty' }, 'Loading…'));
  root.append(el('div', { class: 'message-toolbar' }, back, el('span', { class: 'spacer' }), delButton), status, body);

  async function remove() {
    if (!view) return;
    delButton.disabled = true;
    status.className = 'message-status';
    status.textContent = 'Deleting…';
    try {
      await api.del(base);
    } catch (e) {
      delButton.disabled = false;
      status.className = 'message-status error';
      status.textContent = e.status === 409
        ? `Not deleted: mailbox "${view.mailbox}" is in use. A POP3 session holds its lock from login until QUIT; ` +
          'deleting now could pull the message from under it. Try again once it has quit.'
        : `Not deleted: ${api.describe(e)}`;
      return;
    }
    navigate('#/mail');
  }

  function kv(rows) {
    return el('table', { class: 'kv' }, rows.filter((r) => r).map(([k, v, cls]) =>
      el('tr', {}, el('th', {}, k), el('td', { class: cls || '' }, v))));
  }

  function renderHeaderBlock(v) {
    const s = v.summary || {};
    const env = v.envelope || {};
    const rcpts = env.recipients || [];
    const fromWhere = {
      'delivered-to': 'from Delivered-To:', 'x-original-to': 'from X-Original-To:',
      received: "from mailnest's Received: line", 'to-cc': 'from To:/Cc: (no other copy of the envelope kept)',
    }[env.recipients_from] || 'not known';
    const headers = kv([
      ['From', s.from || '—'],
      ['To', s.to || '—'],
      s.cc ? ['Cc', s.cc] : null,
      ['Date', s.date ? new Date(s.date).toString() : '— (no valid Date: header)'],
      s.message_id ? ['Message-ID', s.message_id, 'mono'] : null,
    ]);
    const envelope = kv([
      ['MAIL FROM', env.return_path || '—', 'mono'],
      ['RCPT TO', rcpts.length ? rcpts.join(', ') : '—', 'mono'],
      ['', fromWhere, 'hint'],
      ['Mailbox', env.mailbox || v.mailbox],
      ['Delivered', v.time ? `${fmtTime(v.time)} (${new Date(v.time * 1000).toISOString()})` : '—'],
      ['Size', `${fmtSize(v.size)}${v.unseen ? ', unseen (new/)' : ''}${v.flags ? `, flags ${v.flags}` : ''}`],
    ]);
    return el('div', { class: 'message-head' },
      el('section', { class: 'card', id: 'message-headers' }, el('h2', {}, 'Headers'), headers),
      el('section', { class: 'card envelope', id: 'message-envelope' }, el('h2', {}, 'SMTP envelope'), envelope));
  }

  function renderAttachments(v) {
    if (!v.attachments || !v.attachments.length) return null;
    return el('section', { class: 'attachments', id: 'attachments' }, el('h2', {}, `Attachments (${v.attachments.length})`),
      el('ul', {}, v.attachments.map((a) => el('li', {},
        el('a', { href: `${base}/parts/${a.part}`, download: a.filename || `part-${a.part}`, class: 'attachment', dataset: { part: String(a.part) } },
          el('span', { class: 'clip', 'aria-hidden': 'true' }), a.filename || `part-${a.part}`),
        el('span', { class: 'hint' }, ` ${a.content_type}, ${fmtSize(a.size)}`)))));
  }

  // --- Tabs -----------------------------------------------------------------
  function htmlTab(v) {
    const part = findHtmlPart(v.mime);
    if (part === null) return null;
    const frame = el('iframe', {
      id: 'html-frame', class: 'html-frame', title: 'the HTML part (sandboxed: no scripts, no same origin)',
      sandbox: '', referrerpolicy: 'no-referrer', src: `${base}/parts/${part}?inline=1`,
    });
    const load = el('button', { type: 'button', id: 'load-images', onclick: () => {
      frame.src = `${base}/parts/${part}?inline=1&images=1`;
      load.disabled = true;
      load.textContent = 'Remote images loaded';
    } }, 'Load images');
    return el('div', {},
      el('div', { class: 'frame-bar' }, el('span', { class: 'hint' },
        'Shown in a sandbox: no scripts run, remote images are blocked until you load them.'), load),
      frame);
  }

  function textTab(v) {
    if (v.text === null || v.text === undefined) return null;
    return el('pre', { id: 'message-text', class: 'text' }, v.text);
  }

  function headersTab(v) {
    return el('table', { id: 'all-headers', class: 'headers' }, (v.headers || []).map((h) =>
      el('tr', {}, el('th', {}, h.name), el('td', {}, h.value))));
  }

  function traceTab(v) {
    // Received lines are added on top by each hop: the last one is the first hop.
    const hops = (v.headers || []).filter((h) => h.name.toLowerCase() === 'received').map((h) => parseReceived(h.value)).reverse();
    if (!hops.length) return el('p', { class: 'empty' }, 'No Received: header.');
    let prev = null;
    return el('ol', { id: 'trace', class: 'trace' }, hops.map((h, i) => {
      const delta = prev !== null && h.ms !== null ? `+${Math.max(0, (h.ms - prev) / 1000)} s` : '';
      if (h.ms !== null) prev = h.ms;
      return el('li', { class: 'hop' },
        el('div', { class: 'hop-line' }, el('span', { class: 'hop-n' }, `hop ${i + 1}`),
          el('span', { class: 'mono' }, h.from || '?'), ' → ', el('span', { class: 'mono' }, h.by || '?'),
          h.with ? el('span', { class: 'tag' }, h.with) : null,
          h.for ? el('span', { class: 'hint' }, ` for ${h.for}`) : null),
        el('div', { class: 'hint' }, h.date, delta ? ` (${delta})` : ''),
        el('details', {}, el('summary', {}, 'raw'), el('pre', { class: 'text' }, h.raw)));
    }));
  }

  function mimeTab(v) {
    const node = (n) => el('li', {},
      el('span', { class: 'mono' }, `${n.part}. ${n.content_type}`),
      n.filename ? el('span', {}, ` “${n.filename}”`) : null,
      n.charset ? el('span', { class: 'hint' }, ` charset=${n.charset}`) : null,
      n.size !== undefined ? el('span', { class: 'hint' }, ` ${fmtSize(n.size)}`) : null,
      n.attachment ? el('span', { class: 'tag' }, 'attachment') : null,
      !n.parts ? el('a', { href: `${base}/parts/${n.part}`, class: 'part-download', download: n.filename || `part-${n.part}` }, ' download') : null,
      n.parts ? el('ul', {}, n.parts.map(node)) : null);
    return v.mime ? el('ul', { id: 'mime-tree', class: 'mime' }, node(v.mime)) : el('p', { class: 'empty' }, 'No MIME tree.');
  }

  function rawTab() {
    const pre = el('pre', { id: 'raw-source', class: 'text raw' }, 'Loading…');
    api.getText(`${base}/raw`, aborter.signal).then((t) => { pre.textContent = t; },
      (e) => { if (e.name !== 'AbortError') pre.textContent = `Cannot load the source: ${api.describe(e)}`; });
    return el('div', {}, el('p', {}, el('a', { href: `${base}/raw`, download: `${id}.eml` }, 'Download .eml')), pre);
  }

  function renderTabs(v) {
    const tabs = [
      ['html', 'HTML', () => htmlTab(v)],
      ['text', 'Text', () => textTab(v)],
      ['headers', 'All headers', () => headersTab(v)],
      ['trace', 'Received trace', () => traceTab(v)],
      ['mime', 'MIME tree', () => mimeTab(v)],
      ['raw', 'Raw source', () => rawTab()],
    ];
    const has = { html: findHtmlPart(v.mime) !== null, text: v.text !== null && v.text !== undefined };
    const bar = el('div', { class: 'tabs', role: 'tablist' });
    const panel = el('div', { class: 'tab-panel', role: 'tabpanel' });
    const built = new Map();
    function show(key) {
      for (const b of bar.children) b.setAttribute('aria-selected', b.dataset.tab === key ? 'true' : 'false');
      if (!built.has(key)) {
        const t = tabs.find((x) => x[0] === key);
        built.set(key, t[2]() || el('p', { class: 'empty' }, `No ${t[1]} part.`));
      }
      panel.replaceChildren(built.get(key));
    }
    for (const [key, label] of tabs) {
      if ((key === 'html' || key === 'text') && !has[key]) continue;
      bar.append(el('button', { type: 'button', role: 'tab', id: `tab-${key}`, dataset: { tab: key }, onclick: () => show(key) }, label));
    }
    show(has.html ? 'html' : has.text ? 'text' : 'headers');
    return [bar, panel];
  }

  async function load() {
    try {
      view = await api.get(base, {}, aborter.signal);
    } catch (e) {
      if (e.name === 'AbortError') return;
      body.replaceChildren(el('p', { class: 'error-text', id: 'message-error' },
        e.status === 404 ? 'This message is gone (deleted, or never existed).' : `Cannot show this message: ${api.describe(e)}`));
      return;
    }
    delButton.disabled = false;
    const s = view.summary || {};
    body.replaceChildren(...[
      el('h1', { id: 'message-subject' }, s.subject || '(no subject)'),
      view.truncated ? el('p', { class: 'hint' }, 'Only the first part of this large file was parsed (http.max_parse_bytes).') : null,
      renderHeaderBlock(view),
      renderAttachments(view),
      ...renderTabs(view)].filter((x) => x));
    document.title = `${s.subject || '(no subject)'} — mailnest`;
  }

  cleanups.push(shortcuts.add('Delete', 'delete this message', remove));
  cleanups.push(shortcuts.add('u', 'back to the list', () => navigate('#/mail')));
  cleanups.push(shortcuts.add('Escape', 'back to the list', () => navigate('#/mail')));
  cleanups.push(ctx.events.subscribe('message.deleted', (m) => {
    if (m.id === id) {
      status.className = 'message-status error';
      status.textContent = 'This message has just been deleted (POP3, another program or the API).';
      delButton.disabled = true;
    }
  }));
  load();

  return () => {
    aborter.abort();
    document.title = 'mailnest console';
    for (const c of cleanups) c();
  };
}
