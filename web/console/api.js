// Fetch helpers for the HTTP API (docs/HTTP_API.md). Every call resolves to
// parsed JSON or rejects with an ApiError carrying the status and the API's
// own {"error": "..."} text, so pages can show exactly what went wrong.
// Requests are same-origin: the browser adds Basic auth credentials itself.

export class ApiError extends Error {
  constructor(status, message, path) {
    super(message);
    this.name = 'ApiError';
    this.status = status;  // 0: no answer at all (network, server down)
    this.path = path;
  }
}

// path + {key: value} → absolute URL with the non-empty values encoded.
// Absolute on location.origin, which never holds a user:password: fetch()
// refuses a URL with credentials, and a relative one would inherit them
// when the console was opened as http://user:pw@host/ (the browser sends
// the Basic credentials it has for this origin by itself).
export function url(path, params = {}) {
  const u = new URL(path, location.origin);
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') u.searchParams.set(k, String(v));
  }
  return u.href;
}

async function request(method, path, params, signal) {
  const target = url(path, params);
  let res;
  try {
    res = await fetch(target, { method, signal, headers: { Accept: 'application/json' } });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, `no answer from the server (${e.message})`, target);
  }
  if (res.status === 204) return null;
  const text = await res.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!res.ok) {
    const why = body && typeof body.error === 'string' ? body.error : `${res.status} ${res.statusText}`;
    throw new ApiError(res.status, why, target);
  }
  return body;
}

export const get = (path, params, signal) => request('GET', path, params, signal);
export const del = (path, params, signal) => request('DELETE', path, params, signal);

// A text answer (the raw message source).
export async function getText(path, signal) {
  let res;
  try {
    res = await fetch(url(path), { signal });
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, `no answer from the server (${e.message})`, path);
  }
  const text = await res.text();
  if (!res.ok) {
    let why = `${res.status} ${res.statusText}`;
    try { why = JSON.parse(text).error || why; } catch { /* not JSON */ }
    throw new ApiError(res.status, why, path);
  }
  return text;
}

// A human sentence for any error a page caught.
export function describe(err) {
  if (err instanceof ApiError) {
    return err.status ? `${err.message} (HTTP ${err.status})` : err.message;
  }
  return String(err && err.message ? err.message : err);
}
