// One EventSource to /api/v1/events shared by every page. subscribe(type, fn)
// adds a listener (fn gets the parsed data object and the event id) and
// returns the function that removes it; the stream opens on the first
// subscription and stays open (EventSource reconnects by itself, sending
// Last-Event-ID, and the server replays what was missed).

let source = null;
const listeners = new Map();  // type → Set of fn
const attached = new Set();   // types with an EventSource listener
const statusFns = new Set();
let status = 'connecting';

function setStatus(s) {
  if (s === status) return;
  status = s;
  for (const fn of statusFns) fn(s);
}

function ensureSource() {
  if (source) return source;
  source = new EventSource('/api/v1/events');
  source.addEventListener('open', () => setStatus('live'));
  source.addEventListener('error', () => {
    setStatus(source.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting');
  });
  for (const type of listeners.keys()) attach(type);
  return source;
}

function attach(type) {
  if (!source || attached.has(type)) return;
  attached.add(type);
  source.addEventListener(type, (ev) => {
    let data;
    try {
      data = JSON.parse(ev.data);
    } catch {
      return;  // the API sends one JSON object per event; anything else is not ours
    }
    for (const fn of [...(listeners.get(type) || [])]) {
      try {
        fn(data, ev.lastEventId);
      } catch (e) {
        console.warn(`events: a ${type} listener failed`, e);
      }
    }
  });
}

export function subscribe(type, fn) {
  if (!listeners.has(type)) listeners.set(type, new Set());
  listeners.get(type).add(fn);
  ensureSource();
  attach(type);
  return () => listeners.get(type)?.delete(fn);
}

// fn(status): 'connecting' | 'live' | 'reconnecting' | 'closed'. Called now
// with the current status, then on each change. Returns the remover.
export function onStatus(fn) {
  statusFns.add(fn);
  fn(status);
  return () => statusFns.delete(fn);
}

export function start() {
  ensureSource();
}
