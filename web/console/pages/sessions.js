// The Sessions page: the live SMTP and POP3 sessions and the recent ended
// ones (GET /api/v1/sessions), and one session's transcript
// (GET /api/v1/sessions/{id}) with C:/S: lines streaming in through the
// session.* events, reply codes explained on hover (lib/reply_codes.js) and
// the protocol's state diagram (lib/state_diagram.js) with the path taken.
// Every value from the wire is set as text (el() makes text nodes); the API
// has already masked secrets (PASS ****, AUTH PLAIN ****, bodies as
// <N octets>) and the page shows exactly that.
import { describe } from '../api.js';
import { explain, explainCommand } from '../lib/reply_codes.js';
import { stateDiagram } from '../lib/state_diagram.js';

const LIST_LIMIT = 200;

function clock(ms) {
  const d = new Date(ms);
  const p = (n, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

function duration(s) {
  const ms = (s.end_ms || Date.now()) - s.start_ms;
  return ms < 1000 ? `${ms} ms` : ms < 60000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 60000)} min`;
}

function sameEntry(a, b) {
  return a.t === b.t && a.dir === b.dir && (a.dir === 'state' ? a.state === b.state : a.text === b.text);
}

export function mount(root, ctx) {
  const { el, api, events, shortcuts, navigate, params } = ctx;
  const selectedId = params.id ? Number(params.id) : null;
  const sessions = new Map();  // id → summary
  let order = [];              // ids, newest first
  let cursor = -1;             // index in order of the highlighted row
  const aborter = new AbortController();
  const cleanups = [];

  const listBody = el('tbody');
  const count = el('span', { class: 'sessions-count' });
  const listPane = el('section', { class: 'sessions-list card', 'aria-label': 'sessions' },
    el('h2', {}, 'Sessions ', count),
    el('table', { class: 'sessions-table' },
      el('thead', {}, el('tr', {}, el('th', {}, '#'), el('th', {}, 'proto'), el('th', {}, 'peer'),
        el('th', {}, 'state'), el('th', { class: 'c-start' }, 'started'), el('th', { class: 'c-lines' }, 'lines'))),
      listBody));
  const detail = el('section', { class: 'session-detail', 'aria-label': 'session' });
  root.append(el('h1', {}, 'Sessions'), el('div', { class: 'sessions-layout' }, listPane, detail));

  // --- the list -------------------------------------------------------------
  function row(s) {
    const tr = el('tr', {
      class: `session-row${s.live ? ' live' : ''}${s.id === selectedId ? ' open' : ''}`,
      dataset: { id: String(s.id), protocol: s.protocol, live: String(!!s.live) },
      onclick: () => navigate(`#/sessions/${s.id}`),
    },
    el('td', {}, el('a', { href: `#/sessions/${s.id}` }, String(s.id))),
    el('td', {}, el('span', { class: `proto proto-${s.protocol}` }, s.protocol.toUpperCase())),
    el('td', { class: 'mono c-peer' }, s.peer),
    el('td', { class: 'c-state' }, s.live ? el('span', { class: 'live-dot', title: 'open now' }) : null, s.state),
    el('td', { class: 'c-start', title: new Date(s.start_ms).toString() }, clock(s.start_ms).slice(0, 8)),
    el('td', { class: 'c-lines' }, String(s.lines)));
    return tr;
  }

  // Many lines a second may arrive: the list is redrawn once a frame.
  let pending = 0;
  function renderList() {
    if (!pending) pending = requestAnimationFrame(renderListNow);
  }

  function renderListNow() {
    pending = 0;
    const rows = order.map((id) => row(sessions.get(id)));
    if (cursor >= 0 && rows[cursor]) rows[cursor].classList.add('selected');
    listBody.replaceChildren(...rows);
    if (!order.length) listBody.append(el('tr', {}, el('td', { colspan: 6, class: 'empty' }, 'No session yet: connect to SMTP or POP3.')));
    const live = order.filter((id) => sessions.get(id).live).length;
    count.textContent = `${live} live, ${order.length - live} ended`;
  }

  function upsert(s) {
    const old = sessions.get(s.id);
    sessions.set(s.id, { ...(old || {}), ...s });
    if (!old) {
      const at = order.findIndex((id) => id < s.id);
      if (at < 0) order.push(s.id);
      else order.splice(at, 0, s.id);
      if (cursor >= at && at >= 0) cursor += 1;
    }
    renderList();
  }

  function move(delta) {
    if (!order.length) return;
    cursor = Math.max(0, Math.min(order.length - 1, (cursor < 0 ? (delta > 0 ? -1 : 0) : cursor) + delta));
    renderListNow();
    listBody.children[cursor]?.scrollIntoView({ block: 'nearest' });
  }

  cleanups.push(shortcuts.add('j', 'next session', () => move(1)));
  cleanups.push(shortcuts.add('k', 'previous session', () => move(-1)));
  cleanups.push(shortcuts.add('Enter', 'open the selected session', () => {
    if (cursor >= 0 && order[cursor] !== undefined) navigate(`#/sessions/${order[cursor]}`);
  }));

  // --- one session ------------------------------------------------------------
  let view = null;  // { id, protocol, transcript el, diagram, path, entries }

  function lineEl(protocol, entry) {
    if (entry.dir === 'state') {
      return el('li', { class: 'tl tl-state', dataset: { state: entry.state } },
        el('span', { class: 'tl-time' }, clock(entry.t)), el('span', { class: 'tl-dir' }, '→'),
        el('span', { class: 'tl-text' }, `state ${entry.state}`));
    }
    const inbound = entry.dir === 'in';
    const text = String(entry.text);
    const parts = [];
    if (inbound) {
      parts.push(el('span', { class: 'tl-text', title: explainCommand(protocol, text) }, text));
    } else {
      const r = explain(protocol, text);
      if (!r) {
        parts.push(el('span', { class: 'tl-text' }, text));
      } else {
        let rest = text.slice(r.code.length);
        const code = el('span', { class: `rc rc-${r.cls}`, title: r.title, dataset: { code: r.code } }, r.code);
        const pieces = [code];
        if (r.enhanced) {
          const i = rest.indexOf(r.enhanced);
          pieces.push(rest.slice(0, i));
          pieces.push(el('span', { class: `rc-enh rc-${r.cls}`, title: r.enhancedTitle }, r.enhanced));
          rest = rest.slice(i + r.enhanced.length);
        }
        pieces.push(rest);
        parts.push(el('span', { class: 'tl-text' }, ...pieces));
      }
    }
    return el('li', { class: `tl ${inbound ? 'tl-in' : 'tl-out'}` },
      el('span', { class: 'tl-time', title: new Date(entry.t).toISOString() }, clock(entry.t)),
      el('span', { class: 'tl-dir', title: inbound ? 'from the client' : 'from mailnest' }, inbound ? 'C:' : 'S:'),
      ...parts);
  }

  function append(entry) {
    if (!view) return;
    view.entries.push(entry);
    const atEnd = view.scroll.scrollTop + view.scroll.clientHeight >= view.scroll.scrollHeight - 24;
    view.list.append(lineEl(view.protocol, entry));
    if (atEnd) view.scroll.scrollTop = view.scroll.scrollHeight;
    if (entry.dir === 'state') {
      view.path.push(entry.state);
      drawPath();
    }
  }

  function drawPath() {
    const unknown = view.diagram.show(view.path);
    view.unknown.textContent = unknown.length ? `also: ${unknown.join(', ')}` : '';
    view.pathText.textContent = view.path.join(' → ');
  }

  function renderHeader(s) {
    if (!view) return;
    view.head.replaceChildren(
      el('span', { class: `proto proto-${s.protocol}` }, s.protocol.toUpperCase()),
      el('strong', {}, ` #${s.id} `),
      el('span', { class: 'mono' }, `${s.peer} → ${s.local}`),
      el('span', { class: 'hint' }, ` log id ${s.log_id} · started ${new Date(s.start_ms).toLocaleString()} · ${duration(s)} · `),
      s.live ? el('span', { class: 'live-badge' }, '● live') : el('span', { class: 'hint' }, 'ended'),
    );
  }

  async function openSession(id) {
    detail.replaceChildren(el('p', { class: 'empty' }, `Loading session ${id}…`));
    const buffered = [];
    let loading = true;
    const early = (e) => { if (loading) buffered.push(e); };
    // Lines that arrive while the transcript is being fetched are kept and
    // added after it unless the fetched transcript already ends with them.
    const unsubs = [
      events.subscribe('session.line', (d) => {
        if (d.session !== id) return;
        const e = { t: d.t, dir: d.dir, text: d.text };
        if (loading) early(e); else append(e);
      }),
      events.subscribe('session.state', (d) => {
        if (d.session !== id) return;
        const e = { t: d.t, dir: 'state', state: d.state };
        if (loading) early(e); else append(e);
      }),
    ];
    cleanups.push(() => unsubs.forEach((u) => u()));
    let s;
    try {
      s = await api.get(`/api/v1/sessions/${id}`, {}, aborter.signal);
    } catch (e) {
      if (e.name === 'AbortError') return;
      loading = false;
      detail.replaceChildren(el('p', { class: 'error-text' }, e.status === 404
        ? `Session ${id} is not kept any more (only the last ended sessions are, http.session_ring).`
        : `Cannot load session ${id}: ${describe(e)}`));
      return;
    }
    const diagram = stateDiagram(s.protocol);
    const list = el('ol', { class: 'transcript mono', 'aria-label': 'transcript' });
    const scroll = el('div', { class: 'transcript-scroll' }, list);
    view = {
      id, protocol: s.protocol, list, scroll, diagram, entries: [], path: [diagram.initial],
      head: el('div', { class: 'session-head' }),
      unknown: el('p', { class: 'hint sd-unknown' }),
      pathText: el('p', { class: 'hint sd-path' }),
    };
    const dropped = s.dropped_lines ? el('p', { class: 'hint' }, `${s.dropped_lines} later lines not kept (http.session_max_lines)`) : null;
    detail.replaceChildren(
      view.head,
      el('div', { class: 'session-body' },
        el('div', { class: 'card transcript-card' }, el('h2', {}, 'Transcript'), scroll, dropped),
        el('div', { class: 'card diagram-card' }, el('h2', {}, `${s.protocol.toUpperCase()} state machine`),
          diagram.svg, view.pathText, view.unknown)));
    renderHeader(s);
    for (const entry of s.transcript) append(entry);
    let k = Math.min(buffered.length, s.transcript.length);
    for (; k > 0; --k) {
      const tail = s.transcript.slice(s.transcript.length - k);
      if (tail.every((e, i) => sameEntry(e, buffered[i]))) break;
    }
    loading = false;
    for (const e of buffered.slice(k)) append(e);
    drawPath();
    scroll.scrollTop = scroll.scrollHeight;
    detail.dataset.loaded = String(id);
  }

  // --- live ----------------------------------------------------------------------
  // Events were lost while the stream was away (the server's ring moved on):
  // the list and the transcript are fetched again by mounting the page anew.
  cleanups.push(events.subscribe('gap', () => navigate(location.hash, { replace: true })));
  cleanups.push(events.subscribe('session.open', (d) => upsert(d)));
  cleanups.push(events.subscribe('session.close', (d) => {
    upsert({ ...d, live: false });
    if (view && view.id === d.id) renderHeader(sessions.get(d.id));
  }));
  cleanups.push(events.subscribe('session.state', (d) => {
    const s = sessions.get(d.session);
    if (s) upsert({ id: d.session, state: d.state, lines: (s.lines || 0) + 1 });  // lines counts states too
  }));
  cleanups.push(events.subscribe('session.line', (d) => {
    const s = sessions.get(d.session);
    if (s) upsert({ id: d.session, lines: (s.lines || 0) + 1 });
  }));

  (async () => {
    try {
      const r = await api.get('/api/v1/sessions', { limit: LIST_LIMIT }, aborter.signal);
      for (const s of r.sessions) if (!sessions.has(s.id)) sessions.set(s.id, s);
      order = [...sessions.keys()].sort((a, b) => b - a);
      cursor = selectedId !== null ? order.indexOf(selectedId) : (order.length ? 0 : -1);
      renderList();
      listPane.dataset.loaded = 'true';
    } catch (e) {
      if (e.name !== 'AbortError') listBody.replaceChildren(el('tr', {}, el('td', { colspan: 6, class: 'error-text' }, `Cannot list the sessions: ${describe(e)}`)));
    }
  })();

  if (selectedId !== null) openSession(selectedId);
  else detail.append(el('p', { class: 'empty' }, 'Choose a session (click, or j/k and Enter) to see its transcript and state diagram.'));

  return () => {
    if (pending) cancelAnimationFrame(pending);
    aborter.abort();
    for (const c of cleanups) c();
  };
}
