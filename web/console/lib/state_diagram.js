// The SMTP and POP3 state machines of docs/E1_specification.md (§3.1, §4.1)
// drawn as inline SVG with DOM APIs (createElementNS, no markup strings).
// stateDiagram(protocol) → { svg, show(path) }: show(['NEW', 'CONNECTED', …])
// lights the last state (class "current", data-current="true") and marks
// every transition taken, in order (class "visited", data-order="1 4"; the
// step numbers are drawn beside the edge). State names are the server's own
// (SmtpStateName, Pop3StateName); a state the table does not know is listed
// under the drawing rather than dropped.

const NS = 'http://www.w3.org/2000/svg';

function svgEl(tag, attrs = {}, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

// Nodes in one column (x, y of the box centre); edges: [from, to, label,
// side] where side routes non-adjacent edges around the column: 'r' right,
// 'l' left, 'loop' a self-loop, '' straight down.
const W = 124;
const H = 26;
export const MACHINES = {
  smtp: {
    initial: 'NEW',
    width: 330,
    nodes: ['NEW', 'CONNECTED', 'GREETED', 'MAIL', 'RCPT', 'DATA', 'DELIVERING', 'CLOSING'],
    edges: [
      ['NEW', 'CONNECTED', '220'],
      ['CONNECTED', 'GREETED', 'HELO/EHLO 250'],
      ['GREETED', 'MAIL', 'MAIL 250'],
      ['MAIL', 'RCPT', 'RCPT 250'],
      ['RCPT', 'DATA', 'DATA 354'],
      ['DATA', 'DELIVERING', '<CRLF>.<CRLF>'],
      ['RCPT', 'RCPT', 'RCPT 250', 'loop'],
      ['GREETED', 'GREETED', 'HELO/EHLO/RSET', 'loop'],
      ['MAIL', 'GREETED', 'RSET', 'r'],
      ['RCPT', 'GREETED', 'RSET', 'r'],
      ['DATA', 'GREETED', '550/552', 'r'],
      ['DELIVERING', 'GREETED', '250 / 451', 'r'],
      ['NEW', 'CLOSING', '554', 'l'],
      ['CONNECTED', 'CLOSING', 'QUIT/421', 'l'],
      ['GREETED', 'CLOSING', 'QUIT 221', 'l'],
      ['MAIL', 'CLOSING', 'QUIT/421', 'l'],
      ['RCPT', 'CLOSING', 'QUIT/421', 'l'],
      ['DATA', 'CLOSING', '421', 'l'],
      ['DELIVERING', 'CLOSING', 'lost', 'l'],
    ],
  },
  pop3: {
    initial: 'AUTHORIZATION',
    width: 400,
    nodes: ['AUTHORIZATION', 'TRANSACTION', 'UPDATE'],
    edges: [
      ['AUTHORIZATION', 'TRANSACTION', 'PASS +OK (lock held)'],
      ['TRANSACTION', 'UPDATE', 'QUIT'],
      ['AUTHORIZATION', 'AUTHORIZATION', 'USER / PASS -ERR', 'loop'],
    ],
  },
};

const X = 110;         // column centre
const TOP = 22;        // first box centre
const STEP = 50;       // distance between box centres

function centreY(i) { return TOP + i * STEP; }

function edgeGeometry(m, e, laneOf) {
  const [from, to, , side = ''] = e;
  const i = m.nodes.indexOf(from);
  const j = m.nodes.indexOf(to);
  const y1 = centreY(i);
  const y2 = centreY(j);
  if (side === 'loop') {
    const x = X + W / 2;
    return { d: `M ${x} ${y1 - 6} C ${x + 34} ${y1 - 22}, ${x + 34} ${y1 + 22}, ${x} ${y1 + 6}`, lx: x + 34, ly: y1 + 4, anchor: 'start' };
  }
  if (side === 'r' || side === 'l') {
    const lane = laneOf(side, e);
    const sgn = side === 'r' ? 1 : -1;
    const x0 = X + sgn * W / 2;
    const xo = x0 + sgn * (48 + lane * 14);
    const ya = y1 + (side === 'r' ? -4 : 4);
    const yb = y2 + (side === 'r' ? 6 + lane * 0 : -6);
    return {
      d: `M ${x0} ${ya} L ${xo} ${ya} L ${xo} ${yb} L ${x0 + sgn * 2} ${yb}`,
      lx: xo + sgn * 3, ly: (ya + yb) / 2, anchor: side === 'r' ? 'start' : 'end', vertical: true,
    };
  }
  const ly = (y1 + y2) / 2 + 3;
  return { d: `M ${X} ${y1 + H / 2} L ${X} ${y2 - H / 2 - 1}`, lx: X + 7, ly, anchor: 'start', sx: X - 7, sy: ly, sanchor: 'end' };
}

export function stateDiagram(protocol) {
  const m = MACHINES[protocol] || MACHINES.smtp;
  const height = centreY(m.nodes.length - 1) + H / 2 + 8;
  const leftPad = protocol === 'smtp' ? 150 : 60;  // room for the edges into CLOSING
  const svg = svgEl('svg', {
    class: `state-diagram sd-${protocol}`,
    viewBox: `${-leftPad + 40} 0 ${m.width + leftPad - 40} ${height}`,
    role: 'img',
    'aria-label': `${protocol.toUpperCase()} state diagram`,
    'data-protocol': protocol,
  });
  svg.append(svgEl('title', {}, `${protocol.toUpperCase()} states (docs/E1_specification.md ${protocol === 'smtp' ? '§3.1' : '§4.1'})`));
  const defs = svgEl('defs');
  for (const [id, cls] of [[`arrow-${protocol}`, 'sd-arrow'], [`arrow-${protocol}-v`, 'sd-arrow visited']]) {
    const marker = svgEl('marker', { id, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 8, markerHeight: 8, markerUnits: 'userSpaceOnUse', orient: 'auto-start-reverse' });
    marker.append(svgEl('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: cls }));
    defs.append(marker);
  }
  svg.append(defs);

  const lanes = { r: [], l: [] };
  const laneOf = (side, e) => {
    if (!lanes[side].includes(e)) lanes[side].push(e);
    return lanes[side].indexOf(e);
  };
  const edgeEls = new Map();  // 'FROM>TO' → { g, path, steps }
  const edgeLayer = svgEl('g', { class: 'sd-edges' });
  for (const e of m.edges) {
    const geo = edgeGeometry(m, e, laneOf);
    const g = svgEl('g', { class: 'sd-edge', 'data-from': e[0], 'data-to': e[1] });
    const path = svgEl('path', { d: geo.d, 'marker-end': `url(#arrow-${protocol})` });
    g.append(svgEl('title', {}, `${e[0]} → ${e[1]}: ${e[2]}`), path);
    if (!geo.vertical) g.append(svgEl('text', { x: geo.lx, y: geo.ly, 'text-anchor': geo.anchor, class: 'sd-label' }, e[2]));
    const steps = geo.sx !== undefined
      ? svgEl('text', { x: geo.sx, y: geo.sy, 'text-anchor': geo.sanchor, class: 'sd-steps' })
      : svgEl('text', { x: geo.lx, y: geo.ly + (geo.vertical ? 0 : 11), 'text-anchor': geo.anchor, class: 'sd-steps' });
    g.append(steps);
    edgeLayer.append(g);
    edgeEls.set(`${e[0]}>${e[1]}`, { g, path, steps });
  }
  svg.append(edgeLayer);

  const nodeEls = new Map();
  const nodeLayer = svgEl('g', { class: 'sd-nodes' });
  m.nodes.forEach((name, i) => {
    const g = svgEl('g', { class: 'sd-node', 'data-state': name });
    g.append(
      svgEl('rect', { x: X - W / 2, y: centreY(i) - H / 2, width: W, height: H, rx: 7 }),
      svgEl('text', { x: X, y: centreY(i) + 4, 'text-anchor': 'middle' }, name),
    );
    nodeLayer.append(g);
    nodeEls.set(name, g);
  });
  svg.append(nodeLayer);

  // path: the states in the order the session entered them (the first is
  // where it started). Returns the states the drawing does not know.
  function show(path) {
    for (const g of nodeEls.values()) {
      g.classList.remove('current', 'visited');
      g.removeAttribute('data-current');
    }
    for (const { g, path: p, steps } of edgeEls.values()) {
      g.classList.remove('visited', 'last');
      g.removeAttribute('data-order');
      p.setAttribute('marker-end', `url(#arrow-${protocol})`);
      steps.textContent = '';
    }
    const unknown = [];
    path.forEach((s, k) => {
      const n = nodeEls.get(s);
      if (n) n.classList.add('visited');
      else if (!unknown.includes(s)) unknown.push(s);
      if (k === 0) return;
      const edge = edgeEls.get(`${path[k - 1]}>${s}`);
      if (!edge) return;
      edge.g.classList.add('visited');
      const order = edge.g.getAttribute('data-order');
      edge.g.setAttribute('data-order', order ? `${order} ${k}` : String(k));
      edge.path.setAttribute('marker-end', `url(#arrow-${protocol}-v)`);
      const nums = edge.g.getAttribute('data-order').split(' ');
      edge.steps.textContent = nums.length > 3 ? `${nums.slice(0, 2).join(',')},…,${nums[nums.length - 1]}` : nums.join(',');
      if (k === path.length - 1) edge.g.classList.add('last');
    });
    const last = path[path.length - 1];
    const cur = nodeEls.get(last);
    if (cur) {
      cur.classList.add('current');
      cur.setAttribute('data-current', 'true');
    }
    svg.setAttribute('data-current', last || '');
    return unknown;
  }

  return { svg, show, initial: m.initial };
}
