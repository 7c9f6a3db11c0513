// The console's shell: a hash router that mounts one page module at a time
// into <main id="view">, the nav bar, the error banner, the live indicator
// and the keyboard shortcut registry. Pages are ES modules exporting
// mount(root, ctx) → unmount function; ctx is built below.
//
//   #/mail[?mailbox=M&query=Q]  pages/mail.js       the message list
//   #/message/<id>              pages/message.js    one message
//   #/sessions[/<id>]           pages/sessions.js   SMTP/POP3 transcripts
//   #/dashboard                 pages/dashboard.js  figures and charts
//
// Nothing from the server is ever inserted as HTML: pages build elements
// and set textContent (el() below), and message HTML only ever appears in
// a sandboxed iframe.
import * as api from './api.js';
import * as events from './events.js';

const routes = [
  { re: /^\/mail$/, page: 'mail', load: () => import('./pages/mail.js') },
  { re: /^\/message\/([0-9a-f]{16})$/, page: 'mail', load: () => import('./pages/message.js'), keys: ['id'] },
  { re: /^\/sessions$/, page: 'sessions', load: () => import('./pages/sessions.js') },
  { re: /^\/sessions\/(\d+)$/, page: 'sessions', load: () => import('./pages/sessions.js'), keys: ['id'] },
  { re: /^\/dashboard$/, page: 'dashboard', load: () => import('./pages/dashboard.js') },
];

// el('div', {class: 'x', title: t, onclick: fn}, child, 'text', ...): a new
// element; strings become text nodes, never markup.
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
    else if (k === 'class') e.className = v;
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

// --- Keyboard shortcuts -------------------------------------------------
// add(key, description, fn) registers a key for as long as the page that
// added it is mounted (the returned function removes it). Keys are
// KeyboardEvent.key values ('j', 'Enter', 'Delete', '/'). While a text
// field has focus only Escape is handled, so typing a 'j' types a 'j'.
const shortcutStack = [];  // later registrations win

export const shortcuts = {
  add(key, description, fn) {
    const entry = { key, description, fn };
    shortcutStack.push(entry);
    renderHelp();
    return () => {
      const i = shortcutStack.indexOf(entry);
      if (i >= 0) shortcutStack.splice(i, 1);
      renderHelp();
    };
  },
  list() {
    return [...shortcutStack];
  },
};

function typingIn(target) {
  return target instanceof HTMLElement &&
    (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName));
}

// Enter and Space on a focused link or button are the browser's (follow,
// press), not a page's shortcut.
function activating(ev) {
  return (ev.key === 'Enter' || ev.key === ' ') && ev.target instanceof HTMLElement &&
    ['A', 'BUTTON', 'SUMMARY'].includes(ev.target.tagName);
}

document.addEventListener('keydown', (ev) => {
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  if (typingIn(ev.target) && ev.key !== 'Escape') return;
  if (ev.key === '?') {
    toggleHelp();
    ev.preventDefault();
    return;
  }
  // The help dialog is modal: its own keys (Escape closes it) only.
  if (document.getElementById('help').open || activating(ev)) return;
  for (let i = shortcutStack.length - 1; i >= 0; --i) {
    if (shortcutStack[i].key === ev.key) {
      ev.preventDefault();
      shortcutStack[i].fn(ev);
      return;
    }
  }
});

function renderHelp() {
  const table = document.getElementById('help-keys');
  if (!table) return;
  // In the order the page added them; a key added again shows what it does now.
  const byKey = new Map();
  for (const s of shortcutStack) byKey.set(s.key, s.description);
  const rows = [...byKey].map(([key, description]) =>
    el('tr', {}, el('td', {}, el('kbd', {}, key === ' ' ? 'Space' : key)), el('td', {}, description)));
  rows.push(el('tr', {}, el('td', {}, el('kbd', {}, '?')), el('td', {}, 'this list')));
  table.replaceChildren(...rows);
}

function toggleHelp() {
  const d = document.getElementById('help');
  if (d.open) d.close();
  else d.showModal();
}

// --- Banner ---------------------------------------------------------------
export function showError(message) {
  const b = document.getElementById('banner');
  b.replaceChildren(el('span', {}, message),
    el('button', { type: 'button', class: 'banner-close', title: 'dismiss', onclick: clearError }, '×'));
  b.hidden = false;
}

export function clearError() {
  const b = document.getElementById('banner');
  b.hidden = true;
  b.replaceChildren();
}

// --- Router ---------------------------------------------------------------
let unmount = null;
let generation = 0;

// '#/mail?mailbox=alice' → { path: '/mail', query: URLSearchParams }
export function currentRoute() {
  const h = location.hash.replace(/^#/, '') || '/mail';
  const i = h.indexOf('?');
  return { path: i < 0 ? h : h.slice(0, i), query: new URLSearchParams(i < 0 ? '' : h.slice(i + 1)) };
}

export function navigate(hash, { replace = false } = {}) {
  if (location.hash === hash) return route();
  if (!replace) {
    location.hash = hash;  // hashchange → route()
    return undefined;
  }
  history.replaceState(null, '', hash);
  return route();
}

async function route() {
  const my = ++generation;
  const { path, query } = currentRoute();
  const r = routes.find((x) => x.re.test(path));
  if (unmount) {
    try { unmount(); } catch (e) { console.warn('unmount failed', e); }
    unmount = null;
  }
  clearError();
  const view = document.getElementById('view');
  view.replaceChildren();
  for (const a of document.querySelectorAll('#nav a')) {
    a.classList.toggle('active', !!r && a.dataset.page === r.page);
    if (r && a.dataset.page === r.page) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (!r) {
    view.append(el('p', { class: 'empty' }, `No page at ${path}. `, el('a', { href: '#/mail' }, 'Go to the mail.')));
    return;
  }
  const m = path.match(r.re);
  const params = {};
  (r.keys || []).forEach((k, i) => { params[k] = decodeURIComponent(m[i + 1]); });
  for (const [k, v] of query) if (!(k in params)) params[k] = v;
  let mod;
  try {
    mod = await r.load();
  } catch (e) {
    showError(`cannot load the page: ${e.message}`);
    return;
  }
  if (my !== generation) return;  // another navigation started meanwhile
  const ctx = { api, events, shortcuts, el, navigate, showError, clearError, params, query };
  const root = el('div', { class: `page page-${r.page}` });
  view.append(root);
  document.body.dataset.page = r.page;
  unmount = mod.mount(root, ctx) || null;
}

function start() {
  events.onStatus((s) => {
    const live = document.getElementById('live');
    live.textContent = { connecting: 'connecting…', live: '● live', reconnecting: 'reconnecting…', closed: 'offline' }[s];
    live.dataset.status = s;
  });
  events.start();
  document.getElementById('help-button').addEventListener('click', toggleHelp);
  document.getElementById('help-close').addEventListener('click', () => document.getElementById('help').close());
  window.addEventListener('hashchange', route);
  if (!location.hash) history.replaceState(null, '', '#/mail');
  renderHelp();
  route();
}

start();
