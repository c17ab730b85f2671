// crmwatch console: the packs' dashboards. Reads /api/v1/dashboards… with
// the session cookie and draws each panel as inline SVG built element by
// element (createElementNS and textContent, never parsed markup); colours
// come from classes in dashboards.css, so nothing needs inline style.
(function () {
  'use strict';
  const body = document.body;
  const $ = (id) => document.getElementById(id);
  const SVG = 'http://www.w3.org/2000/svg';

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    return fill(e, attrs, kids);
  }
  function svg(tag, attrs, ...kids) {
    return fill(document.createElementNS(SVG, tag), attrs, kids);
  }
  function fill(e, attrs, kids) {
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'text') e.textContent = v;
      else if (k === 'class') e.setAttribute('class', v);
      else e.setAttribute(k, v === true ? '' : v);
    }
    for (const k of kids.flat(Infinity)) {
      if (k === undefined || k === null) continue;
      e.append(k instanceof Node ? k : document.createTextNode(String(k)));
    }
    return e;
  }

  async function getJSON(path) {
    const r = await fetch(path, { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
    if (r.status === 401) {
      location.href = '/signin?next=' + encodeURIComponent(location.pathname + location.search);
      throw new Error('signed out');
    }
    const out = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(out.error || r.status + ' ' + r.statusText);
    return out;
  }
  function flash(msg) {
    const f = $('flash');
    if (!f || msg === 'signed out') return;
    f.textContent = msg;
    f.className = 'flash';
    f.hidden = false;
  }

  // ---- values ----
  function fmtValue(v, unit) {
    if (v === undefined || v === null || !isFinite(v)) return '—';
    const num = (x, d) => {
      const a = Math.abs(x);
      const digits = d !== undefined ? d : a >= 100 ? 0 : a >= 10 ? 1 : 2;
      return x.toFixed(digits).replace(/\.0+$/, '');
    };
    const si = (x, base, units) => {
      let i = 0;
      while (Math.abs(x) >= base && i < units.length - 1) { x /= base; i++; }
      return num(x) + ' ' + units[i];
    };
    switch (unit) {
      case 'percent': return num(v) + ' %';
      case 's': return Math.abs(v) < 1 && v !== 0 ? num(v * 1000) + ' ms' : num(v) + ' s';
      case 'bytes': return si(v, 1024, ['B', 'KiB', 'MiB', 'GiB', 'TiB']);
      case 'decmbytes': return si(v, 1000, ['MB', 'GB', 'TB']);
      default: return Math.abs(v) >= 1e4 ? si(v, 1000, ['', 'k', 'M', 'G']).trim() : num(v);
    }
  }
  const pad = (n) => String(n).padStart(2, '0');
  function fmtTick(t, span) {
    const d = new Date(t * 1000);
    const hm = pad(d.getHours()) + ':' + pad(d.getMinutes());
    return span > 2 * 86400 ? pad(d.getDate()) + '/' + pad(d.getMonth() + 1) + (span > 14 * 86400 ? '' : ' ' + hm) : hm;
  }
  // niceTicks returns about n round values covering [lo, hi].
  function niceTicks(lo, hi, n) {
    if (lo === hi) { lo -= 1; hi += 1; }
    const raw = (hi - lo) / n;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) || 10 * mag;
    const out = [];
    for (let v = Math.floor(lo / step) * step; v <= hi + step / 2; v += step) out.push(Math.abs(v) < step / 1e6 ? 0 : v);
    return out;
  }

  // ---- charts ----
  const W = 640, H = 230, L = 64, R = 12, T = 10, B = 26;

  // chart draws the series of all the panel's queries over [from, to].
  function chart(lines, from, to, unit, title) {
    // A loop, not Math.min(...all): 200 series of 3,000 points overflow the argument list.
    let lo = Infinity, hi = -Infinity;
    for (const s of lines) for (const p of s.points) { lo = Math.min(lo, p[1]); hi = Math.max(hi, p[1]); }
    if (unit === 'percent') { lo = Math.min(lo, 0); hi = Math.max(hi, lo + 1); }
    if (lo > 0 && lo < (hi - lo)) lo = 0;
    const yt = niceTicks(lo, hi, 4);
    lo = Math.min(lo, yt[0]); hi = Math.max(hi, yt[yt.length - 1]);
    const x = (t) => L + ((t - from) / (to - from)) * (W - L - R);
    const y = (v) => T + (1 - (v - lo) / (hi - lo || 1)) * (H - T - B);
    const g = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, class: 'chart', role: 'img', 'aria-label': title });
    for (const v of yt) {
      g.append(svg('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'grid' }),
        svg('text', { x: L - 6, y: y(v) + 4, class: 'tick', 'text-anchor': 'end', text: fmtValue(v, unit) }));
    }
    const span = to - from;
    const stepX = [300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 2 * 86400, 7 * 86400].find((s) => span / s <= 7) || 14 * 86400;
    const tz = new Date().getTimezoneOffset() * 60;
    for (let t = Math.ceil((from - tz) / stepX) * stepX + tz; t <= to; t += stepX) {
      g.append(svg('line', { x1: x(t), x2: x(t), y1: T, y2: H - B, class: 'grid' }),
        svg('text', { x: x(t), y: H - 8, class: 'tick', 'text-anchor': 'middle', text: fmtTick(t, span) }));
    }
    lines.forEach((s, i) => {
      // A gap longer than three buckets breaks the line: no value is drawn where none was recorded.
      let d = '', prev = null;
      for (const [t, v] of s.points) {
        d += (prev === null || t - prev > 3 * s.step ? 'M' : 'L') + x(t).toFixed(1) + ' ' + y(v).toFixed(1) + ' ';
        prev = t;
      }
      g.append(svg('path', { d: d.trim(), class: 'line s' + (i % 8) }, svg('title', { text: s.name })));
    });
    return g;
  }

  function legend(lines, unit) {
    return el('ul', { class: 'legend' }, lines.map((s, i) => {
      const last = s.points.length ? s.points[s.points.length - 1][1] : undefined;
      return el('li', {}, el('span', { class: 'swatch s' + (i % 8), 'aria-hidden': 'true' }), s.name + ' ', el('span', { class: 'muted', text: fmtValue(last, unit) }));
    }));
  }

  function latestTable(lines, unit) {
    return el('table', { class: 'latest' }, el('tbody', {}, lines.map((s) => el('tr', {},
      el('td', { text: s.name }), el('td', { class: 'num', text: fmtValue(s.points.length ? s.points[s.points.length - 1][1] : undefined, unit) })))));
  }

  const stepSeconds = { '1m': 60, '1h': 3600, '1d': 86400 };

  // drawPanel fills a panel's card with its answer.
  function drawPanel(card, p, res) {
    const from = Date.parse(res.from) / 1000, to = Date.parse(res.to) / 1000;
    const lines = [], missing = [];
    let truncated = false, since = null;
    for (const q of res.queries) {
      if (q.not_recorded) { missing.push(q); continue; }
      truncated = truncated || q.truncated;
      if (q.recorded_since) since = q.recorded_since;
      for (const s of q.series) lines.push({ name: s.name, points: s.points, step: stepSeconds[q.step] || 60 });
    }
    const out = [];
    if (lines.length && (p.kind === 'timeseries' || !p.kind)) out.push(chart(lines, from, to, p.unit, p.title), legend(lines, p.unit));
    else if (lines.length && p.kind === 'stat') out.push(el('div', { class: 'stat' }, lines.map((s) => el('div', {},
      el('span', { class: 'big', text: fmtValue(s.points[s.points.length - 1][1], p.unit) }), el('span', { class: 'muted', text: s.name })))));
    else if (lines.length) out.push(latestTable(lines, p.unit));
    else if (!missing.length) out.push(el('p', { class: 'muted nodata', text: 'No samples in this range.' }));
    if (since) out.push(el('p', { class: 'muted source', text: 'This server\'s own readings since ' + new Date(since).toLocaleString(undefined, { hour12: false }) + ' (kept in memory for a day; a restart starts again).' }));
    if (truncated) out.push(el('p', { class: 'muted', text: 'More series matched than a panel draws; choose a host.' }));
    for (const q of missing) {
      out.push(el('div', { class: 'not-recorded' }, el('strong', { text: 'Not recorded' }), ' ', el('code', { text: q.expr }),
        el('p', { class: 'muted', text: q.not_recorded })));
    }
    card.querySelector('.body').replaceChildren(...out);
    card.dataset.state = lines.length ? 'drawn' : missing.length ? 'not-recorded' : 'empty';
  }

  // ---- pages ----
  async function listPage() {
    try {
      const res = await getJSON('/api/v1/dashboards');
      $('dashboard-list').replaceChildren(...res.dashboards.map((d) => el('tr', { class: 'dashboard-row' },
        el('td', {}, el('a', { href: '/dashboards/' + encodeURIComponent(d.id), text: d.title }), d.description ? el('div', { class: 'muted', text: d.description }) : null),
        el('td', { text: d.roles && d.roles.length ? d.roles.join(', ') : 'all' }), el('td', { text: d.panels }), el('td', { text: d.pack }))));
    } catch (err) { flash(err.message); }
  }

  async function dashboardPage() {
    const id = body.dataset.id;
    const params = new URLSearchParams(location.search);
    const range = $('dash-range'), host = $('dash-host');
    if (params.get('range')) range.value = params.get('range');
    const every = Math.max(5, parseInt(params.get('refresh') || '60', 10) || 60);
    let d;
    try {
      d = await getJSON('/api/v1/dashboards/' + encodeURIComponent(id));
    } catch (err) { flash(err.message); return; }
    document.querySelector('main h1').textContent = d.title;
    document.title = d.title + ' · crmwatch';
    $('dash-description').textContent = d.description || '';
    if ((d.variables || []).includes('host')) {
      host.append(...(d.hosts || []).map((h) => el('option', { value: h, text: h })));
      if (params.get('host')) host.value = params.get('host');
      $('dash-host-label').hidden = false;
    }
    const cards = d.panel_list.map((p) => {
      const card = el('section', { class: 'card panel panel-' + p.kind, 'data-key': p.key, 'aria-label': p.title },
        el('h2', { text: p.title }), p.description ? el('p', { class: 'muted', text: p.description }) : null,
        el('div', { class: 'body' }, el('p', { class: 'muted', text: 'Loading…' })),
        p.rules && p.rules.length ? el('p', { class: 'rules muted', text: 'Explains alerts of ' + p.rules.join(', ') }) : null);
      return { p, card };
    });
    $('panels').replaceChildren(...cards.map((c) => c.card));
    let refreshes = 0;
    async function load() {
      const q = new URLSearchParams({ from: range.value });
      if (host.value) q.set('host', host.value);
      const shown = new URLSearchParams({ range: range.value });
      if (host.value) shown.set('host', host.value);
      if (params.get('refresh')) shown.set('refresh', params.get('refresh'));
      history.replaceState(null, '', location.pathname + '?' + shown);
      const results = await Promise.allSettled(cards.map(async ({ p, card }) => {
        const res = await getJSON('/api/v1/dashboards/' + encodeURIComponent(id) + '/panels/' + encodeURIComponent(p.key) + '/series?' + q);
        drawPanel(card, p, res);
      }));
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) flash(failed.reason.message);
      refreshes++;
      body.dataset.refreshes = refreshes;
      $('panels').setAttribute('aria-busy', 'false');
      $('dash-updated').textContent = 'Updated ' + new Date().toLocaleTimeString(undefined, { hour12: false }) + ', every ' + every + ' s';
    }
    range.addEventListener('change', load);
    host.addEventListener('change', load);
    $('dash-controls').addEventListener('submit', (e) => { e.preventDefault(); load(); });
    await load();
    setInterval(load, every * 1000);
  }

  if (body.dataset.page === 'dashboards') listPage();
  if (body.dataset.page === 'dashboard') dashboardPage();
})();
