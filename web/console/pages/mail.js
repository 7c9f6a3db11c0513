// The Mail page: the newest messages first, of every mailbox or one, as a
// virtual list (only the rows in view exist in the DOM) filled page by page
// with the API's cursor (GET /api/v1/messages?limit=&cursor=) as the user
// scrolls near the end, so 100,000 messages cost one page at a time.
// New mail arrives through the shared event stream (message.new: the first
// page is asked again and the rows not yet listed go on top); deletions
// (message.deleted) drop their row. Keys: j/k move, Enter opens, Delete
// deletes, / focuses the search box (the API's query language).

const PAGE = 100;        // rows per API request
const OVERSCAN = 8;      // rows rendered above and below the visible ones
const PREFETCH = 40;     // rows from the end at which the next page is asked

// Kept across mounts so coming back from a message keeps the place.
const memory = { key: '', selectedId: null, scrollTop: 0 };

export function fmtSize(n) {
  if (!n) return '—';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n < 10240 ? 1 : 0)} KiB`;
  return `${(n / 1048576).toFixed(1)} MiB`;
}

export function fmtTime(sec) {
  if (!sec) return '—';
  const d = new Date(sec * 1000);
  const now = new Date();
  const pad = (x) => String(x).padStart(2, '0');
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  if (d.toDateString() === now.toDateString()) return `${hm}:${pad(d.getSeconds())}`;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hm}`;
}

export function mount(root, ctx) {
  const { api, events, shortcuts, el, navigate, params } = ctx;
  const mailbox = params.mailbox || '';
  const query = params.query || '';
  const key = `${mailbox}\n${query}`;
  if (memory.key !== key) Object.assign(memory, { key, selectedId: null, scrollTop: 0 });

  const state = {
    items: [],          // list items in order (newest first)
    ids: new Set(),
    cursor: null,       // next_cursor of the last page; null = the end
    done: false,
    loading: false,
    selected: -1,
    firstRendered: false,
    scanned: 0,
    scanLimited: false,
  };
  const aborter = new AbortController();
  const cleanups = [];
  let rowHeight = 40;

  // --- Toolbar: mailbox, search, counts ----------------------------------
  const boxSelect = el('select', { id: 'mailbox-select', 'aria-label': 'mailbox' },
    el('option', { value: '' }, 'All mailboxes'));
  const search = el('input', {
    id: 'search', type: 'search', placeholder: 'Search: from:x subject:"y" has:attachment …  ( / )',
    'aria-label': 'search (the API query language)', value: query, spellcheck: 'false', autocomplete: 'off',
  });
  const searchError = el('div', { id: 'search-error', class: 'search-error', role: 'alert', hidden: true });
  const count = el('span', { id: 'mail-count', class: 'mail-count' }, '');
  const toolbar = el('div', { class: 'mail-toolbar' }, boxSelect, search,
    el('button', { type: 'button', id: 'search-go', onclick: () => applySearch() }, 'Search'),
    count);

  // --- The virtual list -------------------------------------------------
  const spacer = el('div', { class: 'list-spacer' });
  const footer = el('div', { id: 'list-footer', class: 'list-footer' });
  const scroller = el('div', { id: 'mail-list', class: 'list-scroll', role: 'listbox', 'aria-label': 'messages', tabindex: '0' },
    el('div', { class: 'list-head', 'aria-hidden': 'true' },
      el('span', { class: 'c-from' }, 'From'), el('span', { class: 'c-subject' }, 'Subject'),
      el('span', { class: 'c-box' }, 'Mailbox'), el('span', { class: 'c-size' }, 'Size'),
      el('span', { class: 'c-time' }, 'Received')),
    spacer, footer);
  root.append(toolbar, searchError, scroller);

  function rowFor(m, i) {
    const from = m.from ?? '';
    const subject = m.subject ?? '';
    const row = el('a', {
      class: `row${m.unseen ? ' unseen' : ''}${i === state.selected ? ' selected' : ''}`,
      href: `#/message/${m.id}`, role: 'option', 'aria-selected': i === state.selected ? 'true' : 'false',
      dataset: { id: m.id, index: String(i) }, title: subject,
    },
    el('span', { class: 'c-from' }, m.unseen ? el('span', { class: 'dot', title: 'unseen (in new/)' }) : null,
      from || (m.parse_error ? '(unreadable)' : '—')),
    el('span', { class: 'c-subject' },
      el('span', { class: 'subject' }, subject || (m.from === null ? '…' : '(no subject)')),
      m.attachments ? el('span', { class: 'clip', title: `${m.attachments} attachment(s)` }) : null,
      m.snippet ? el('span', { class: 'snippet' }, ` — ${m.snippet}`) : null),
    el('span', { class: 'c-box' }, m.mailbox),
    el('span', { class: 'c-size' }, fmtSize(m.size)),
    el('span', { class: 'c-time', title: m.time ? new Date(m.time * 1000).toString() : '' }, fmtTime(m.time)));
    row.style.top = `${i * rowHeight}px`;
    return row;
  }

  let renderQueued = false;
  function render() {
    renderQueued = false;
    spacer.style.height = `${state.items.length * rowHeight}px`;
    const top = scroller.scrollTop;
    const view = scroller.clientHeight;
    const first = Math.max(0, Math.floor(top / rowHeight) - OVERSCAN);
    const last = Math.min(state.items.length, Math.ceil((top + view) / rowHeight) + OVERSCAN);
    const rows = [];
    for (let i = first; i < last; ++i) rows.push(rowFor(state.items[i], i));
    spacer.replaceChildren(...rows);
    scroller.dataset.loaded = String(state.items.length);  // for people and tests: rows fetched so far
    if (!state.done && !state.loading && last >= state.items.length - PREFETCH) loadMore();
    renderFooter();
  }
  function queueRender() {
    if (renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(render);
  }

  function renderFooter() {
    let text = '';
    if (state.failed) text = '';
    else if (state.loading) text = 'Loading…';
    else if (state.items.length === 0 && state.done) text = query ? 'No message matches.' : 'No mail yet. Send some: it appears here as it arrives.';
    else if (state.done) text = `${state.items.length.toLocaleString()} message${state.items.length === 1 ? '' : 's'}, the end.`;
    const parts = [text];
    if (state.scanLimited && !state.loading && !state.done) {
      parts.push(' ', el('button', { type: 'button', id: 'search-further', onclick: () => loadMore() },
        `Searched ${state.scanned.toLocaleString()} messages: search further`));
    }
    footer.replaceChildren(...parts);
  }

  function add(list, atTop) {
    const fresh = list.filter((m) => !state.ids.has(m.id));
    for (const m of fresh) state.ids.add(m.id);
    if (atTop) {
      state.items.unshift(...fresh);
      if (state.selected >= 0) state.selected += fresh.length;
      // Keep what the user is looking at in place when rows arrive above it.
      if (scroller.scrollTop > 0) scroller.scrollTop += fresh.length * rowHeight;
    } else {
      state.items.push(...fresh);
    }
    return fresh;
  }

  async function loadMore() {
    if (state.loading || state.done) return;
    state.loading = true;
    renderFooter();
    try {
      const page = await api.get('/api/v1/messages',
        { mailbox, query, limit: PAGE, cursor: state.cursor ?? undefined }, aborter.signal);
      add(page.messages, false);
      state.cursor = page.next_cursor;
      state.done = !page.next_cursor;
      state.scanned += page.scanned || 0;
      state.scanLimited = !!page.scan_limit_reached;
      searchError.hidden = true;
    } catch (e) {
      if (e.name === 'AbortError') return;
      state.done = true;
      state.failed = true;
      showListError(e);
    } finally {
      state.loading = false;
    }
    if (!state.firstRendered) {
      state.firstRendered = true;
      restorePlace();
      render();
      // The time to the first rows on screen, for people and for the tests
      // (performance.getEntriesByName('mail:first-render')).
      performance.mark('mail:first-render');
    } else {
      queueRender();
    }
    updateCount();
  }

  function showListError(e) {
    const msg = api.describe(e);
    if (e.status === 400 && query) {
      searchError.replaceChildren(el('strong', {}, 'Search not understood: '), msg);
      searchError.hidden = false;
    } else {
      ctx.showError(`Cannot list messages: ${msg}`);
    }
  }

  // --- Live updates -------------------------------------------------------
  let refreshTimer = null;
  async function refreshTop() {
    refreshTimer = null;
    try {
      const page = await api.get('/api/v1/messages', { mailbox, query, limit: PAGE }, aborter.signal);
      const fresh = add(page.messages, true);
      if (fresh.length) {
        for (const m of fresh) m.fresh = true;
        queueRender();
        updateCount();
      }
    } catch (e) {
      if (e.name !== 'AbortError') console.warn('mail: refresh failed', e);
    }
  }
  cleanups.push(events.subscribe('message.new', (m) => {
    if (mailbox && m.mailbox !== mailbox) return;
    if (!state.firstRendered) return;  // the first page will have it
    if (!refreshTimer) refreshTimer = setTimeout(refreshTop, 50);
  }));
  // Events were lost (the stream was away longer than the server's ring
  // holds): the newest page is asked again. Deletions in between stay
  // listed until the next visit.
  cleanups.push(events.subscribe('gap', () => {
    if (state.firstRendered && !refreshTimer) refreshTimer = setTimeout(refreshTop, 50);
  }));
  cleanups.push(events.subscribe('message.deleted', (m) => {
    const i = state.items.findIndex((x) => x.id === m.id);
    if (i < 0) return;
    state.items.splice(i, 1);
    state.ids.delete(m.id);
    if (state.selected > i) state.selected -= 1;
    if (state.selected >= state.items.length) state.selected = state.items.length - 1;
    queueRender();
    updateCount();
  }));

  // --- Mailboxes and counts -------------------------------------------------
  let boxes = [];
  async function loadBoxes() {
    try {
      boxes = (await api.get('/api/v1/mailboxes', {}, aborter.signal)).mailboxes;
    } catch (e) {
      if (e.name !== 'AbortError') ctx.showError(`Cannot list mailboxes: ${api.describe(e)}`);
      return;
    }
    const total = boxes.reduce((s, b) => s + b.messages, 0);
    boxSelect.replaceChildren(el('option', { value: '' }, `All mailboxes (${total.toLocaleString()})`),
      ...boxes.map((b) => el('option', { value: b.name, selected: b.name === mailbox },
        `${b.name} (${b.messages.toLocaleString()}${b.unseen ? `, ${b.unseen.toLocaleString()} unseen` : ''})`)));
    boxSelect.value = mailbox;
    updateCount();
  }
  function updateCount() {
    const listed = state.items.length.toLocaleString();
    if (query) {
      count.textContent = `${listed} found${state.done ? '' : ' so far'}`;
      return;
    }
    const total = mailbox ? boxes.find((b) => b.name === mailbox)?.messages : boxes.reduce((s, b) => s + b.messages, 0);
    count.textContent = total === undefined ? `${listed} listed` : `${listed} of ${Math.max(total, state.items.length).toLocaleString()} listed`;
  }
  let boxTimer = null;
  const boxesLater = () => { if (!boxTimer) boxTimer = setTimeout(() => { boxTimer = null; loadBoxes(); }, 500); };
  cleanups.push(events.subscribe('message.new', boxesLater));
  cleanups.push(events.subscribe('message.deleted', boxesLater));

  function go(box, q) {
    const p = new URLSearchParams();
    if (box) p.set('mailbox', box);
    if (q) p.set('query', q);
    const s = p.toString();
    navigate(`#/mail${s ? `?${s}` : ''}`);
  }
  function applySearch() { go(mailbox, search.value.trim()); }
  boxSelect.addEventListener('change', () => go(boxSelect.value, query));
  search.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter') applySearch();
    if (ev.key === 'Escape') { search.blur(); scroller.focus(); }
  });

  // --- Selection and keys -------------------------------------------------------
  function select(i, { scroll = true } = {}) {
    if (!state.items.length) return;
    state.selected = Math.max(0, Math.min(state.items.length - 1, i));
    memory.selectedId = state.items[state.selected].id;
    if (scroll) {
      const y = state.selected * rowHeight;
      if (y < scroller.scrollTop) scroller.scrollTop = y;
      else if (y + rowHeight > scroller.scrollTop + scroller.clientHeight) scroller.scrollTop = y + rowHeight - scroller.clientHeight;
    }
    queueRender();
  }
  function restorePlace() {
    if (!memory.selectedId) return;
    const i = state.items.findIndex((m) => m.id === memory.selectedId);
    if (i >= 0) {
      state.selected = i;
      scroller.scrollTop = memory.scrollTop;
    }
  }
  function open() {
    if (state.selected < 0) return;
    memory.scrollTop = scroller.scrollTop;
    navigate(`#/message/${state.items[state.selected].id}`);
  }
  async function removeSelected() {
    if (state.selected < 0) return;
    const m = state.items[state.selected];
    try {
      await api.del(`/api/v1/messages/${m.id}`);
    } catch (e) {
      ctx.showError(e.status === 409
        ? `Not deleted: mailbox "${m.mailbox}" is in use (a POP3 session holds its lock until it QUITs).`
        : `Not deleted: ${api.describe(e)}`);
      return;
    }
    const i = state.items.indexOf(m);  // the event may have removed it already
    if (i >= 0) {
      state.items.splice(i, 1);
      state.ids.delete(m.id);
    }
    if (state.selected >= state.items.length) state.selected = state.items.length - 1;
    queueRender();
    updateCount();
  }
  scroller.addEventListener('click', (ev) => {
    const row = ev.target.closest('.row');
    if (row) {
      state.selected = Number(row.dataset.index);
      memory.selectedId = row.dataset.id;
      memory.scrollTop = scroller.scrollTop;
    }
  });
  scroller.addEventListener('scroll', () => { memory.scrollTop = scroller.scrollTop; queueRender(); });
  const onResize = () => queueRender();
  window.addEventListener('resize', onResize);
  cleanups.push(() => window.removeEventListener('resize', onResize));

  cleanups.push(shortcuts.add('j', 'next message', () => select(state.selected + 1)));
  cleanups.push(shortcuts.add('k', 'previous message', () => select(state.selected - 1)));
  cleanups.push(shortcuts.add('Enter', 'open the selected message', open));
  cleanups.push(shortcuts.add('Delete', 'delete the selected message', removeSelected));
  cleanups.push(shortcuts.add('/', 'search', () => { search.focus(); search.select(); }));

  // The row height comes from the style sheet (--row-height).
  const h = parseFloat(getComputedStyle(root).getPropertyValue('--row-height'));
  if (h > 0) rowHeight = h;
  loadBoxes();
  loadMore();
  scroller.focus({ preventScroll: true });

  return () => {
    aborter.abort();
    clearTimeout(refreshTimer);
    clearTimeout(boxTimer);
    for (const c of cleanups) c();
  };
}
