// crmwatch console. Reads and acts only through the HTTP API (/api/v1/…)
// with the session cookie and the CSRF token of the page; builds every
// element with textContent (never by parsing HTML), so no alert text can become
// markup. No inline script anywhere (the CSP forbids it).
(function () {
  'use strict';
  const body = document.body;
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrf = csrfMeta ? csrfMeta.content : '';
  const canAct = body.dataset.canAct === 'true';
  const canTrace = body.dataset.canTrace === 'true';
  const $ = (id) => document.getElementById(id);

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'text') e.textContent = v;
      else if (k === 'class') e.className = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : v);
    }
    for (const k of kids.flat(Infinity)) {
      if (k === undefined || k === null) continue;
      e.append(k instanceof Node ? k : document.createTextNode(String(k)));
    }
    return e;
  }

  async function api(method, path, data) {
    const opts = { method, headers: { Accept: 'application/json' }, credentials: 'same-origin' };
    if (method !== 'GET') {
      opts.headers['X-CSRF-Token'] = csrf;
      if (data !== undefined) {
        opts.headers['Content-Type'] = 'application/json';
        opts.body = JSON.stringify(data);
      }
    }
    const r = await fetch(path, opts);
    if (r.status === 401) {
      location.href = '/signin?next=' + encodeURIComponent(location.pathname + location.search);
      throw new Error('signed out');
    }
    const out = await r.json().catch(() => ({}));
    if (!r.ok) {
      const err = new Error(out.error || r.status + ' ' + r.statusText);
      err.status = r.status;
      err.data = out;
      throw err;
    }
    return out;
  }

  function flash(msg, ok) {
    const f = $('flash');
    if (!f) return;
    f.textContent = msg;
    f.className = ok ? 'flash ok' : 'flash';
    f.hidden = false;
  }
  function fail(err) { if (err.message !== 'signed out') flash(err.message); }

  function fmtTime(s) {
    if (!s || s.startsWith('0001')) return '—';
    const d = new Date(s);
    return d.toLocaleString(undefined, { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
  }
  const sev = (s) => el('span', { class: 'sev sev-' + s, text: s });
  const state = (s) => el('span', { class: 'state state-' + s, text: s });
  const list = (xs) => (xs && xs.length ? xs.join(', ') : '—');

  function parseDuration(s) {
    const re = /(\d+(?:\.\d+)?)\s*(d|h|m|s)/g;
    const unit = { d: 864e5, h: 36e5, m: 6e4, s: 1e3 };
    let ms = 0, m, seen = '';
    while ((m = re.exec(s)) !== null) { ms += parseFloat(m[1]) * unit[m[2]]; seen += m[0]; }
    if (!ms || seen.replace(/\s/g, '') !== s.replace(/\s/g, '')) throw new Error('duration "' + s + '": write e.g. 30m, 2h or 1d');
    return ms;
  }
  const splitList = (s) => s.split(/[,\n]/).map((x) => x.trim()).filter(Boolean);

  // Live updates: Server-Sent Events of the alert-changes stream.
  function live(onChange) {
    const ind = $('live');
    const es = new EventSource('/events');
    es.addEventListener('open', () => { ind.textContent = '● live'; ind.classList.add('on'); });
    es.addEventListener('error', () => {
      ind.textContent = '○ reconnecting…';
      ind.classList.remove('on');
      if (es.readyState === EventSource.CLOSED) api('GET', '/api/v1/alerts?limit=1').catch(() => {});
    });
    es.addEventListener('change', (e) => onChange(JSON.parse(e.data)));
    es.addEventListener('signedout', () => { es.close(); location.href = '/signin'; });
  }

  function debounce(fn, ms) {
    let t;
    return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); };
  }

  // Keyboard: j/k move between rows, / filters, g goes to the alerts.
  function rowLinks() { return Array.from(document.querySelectorAll('tbody a.row-link')); }
  document.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target;
    if (t && (t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || (t.tagName === 'INPUT' && t.type !== 'checkbox'))) return;
    const links = rowLinks();
    const row = document.activeElement && document.activeElement.closest ? document.activeElement.closest('tr') : null;
    const i = links.indexOf(row ? row.querySelector('a.row-link') : null);
    if (e.key === 'j' || e.key === 'k') {
      if (!links.length) return;
      const n = e.key === 'j' ? Math.min(i + 1, links.length - 1) : Math.max(i - 1, 0);
      links[i < 0 ? 0 : n].focus();
      e.preventDefault();
    } else if (e.key === '/') {
      const f = document.querySelector('.filters input, .filters select');
      if (f) { f.focus(); e.preventDefault(); }
    } else if (e.key === 'x' && row && row.querySelector('input.select')) {
      row.querySelector('input.select').click();
      e.preventDefault();
    } else if (e.key === 'a' && $('bulk-comment') && !$('bulk-ack').disabled) {
      $('bulk-comment').focus();
      e.preventDefault();
    } else if (e.key === 'g') {
      location.href = '/alerts';
    } else if (e.key === 'a' && $('ack') && !$('ack').disabled) {
      $('ack').click();
    }
  });

  // ---- alert list ----
  const PAGE = 100;
  function alertsPage() {
    const q = new URLSearchParams(location.search);
    const form = $('filters');
    for (const name of ['state', 'severity', 'host', 'role', 'organization', 'rule']) {
      if (q.has(name)) form.elements[name].value = q.get(name);
    }
    let offset = Math.max(0, parseInt(q.get('offset') || '0', 10) || 0);
    const changed = new Set();
    // Selected alert ids for the bulk actions; kept across live reloads
    // and pages until acted on or cleared.
    const selected = new Set();
    const cols = canAct ? 9 : 8;
    let painted = false;

    function query() {
      const p = new URLSearchParams();
      p.set('state', form.elements.state.value || 'open');
      let narrowed = false;
      for (const name of ['severity', 'host', 'role', 'organization', 'rule']) {
        const v = form.elements[name].value.trim();
        if (v) { p.set(name, v); narrowed = narrowed || name !== 'severity'; }
      }
      // Grouped children sit under their parent unless a filter picks
      // alerts by what they are about (a child may match where its parent
      // does not).
      if (!narrowed) p.set('top', 'true');
      p.set('limit', PAGE);
      p.set('offset', offset);
      return p;
    }

    function row(a, child) {
      const cls = 'alert-row' + (child ? ' child' : '') + (changed.has(a.id) ? ' flash-row' : '');
      const tr = el('tr', { class: cls, 'data-id': a.id, 'data-state': a.state },
        canAct ? el('td', { class: 'pick' }, el('input', { type: 'checkbox', class: 'select', checked: selected.has(a.id),
          'aria-label': 'Select: ' + (a.summary || a.rule), onchange: (e) => pick(a.id, e.target.checked) })) : null,
        el('td', {}, sev(a.severity)),
        el('td', {}, state(a.state), a.assignee ? el('div', { class: 'muted', text: '→ ' + a.assignee }) : null,
          a.suppressed_by ? el('div', { class: 'muted', text: 'suppressed: ' + a.suppressed_by }) : null),
        el('td', {}, el('a', { class: 'row-link', href: '/alerts/' + encodeURIComponent(a.id), text: a.summary || a.rule })),
        el('td', { text: a.rule }),
        el('td', { text: list(a.hosts) }),
        el('td', { text: list(a.organization_names && a.organization_names.some(Boolean)
          ? a.organizations.map((o, i) => a.organization_names[i] || o) : a.organizations) }),
        el('td', { text: a.repeat_count }),
        el('td', { text: fmtTime(a.last_seen) }));
      if (!child && a.children) {
        const b = el('button', { type: 'button', class: 'expand', 'aria-expanded': 'false', text: '▸ ' + a.children + ' grouped' });
        b.addEventListener('click', () => toggleChildren(a, tr, b));
        tr.querySelector('a.row-link').after(b);
      }
      return tr;
    }

    async function toggleChildren(a, tr, b) {
      if (b.getAttribute('aria-expanded') === 'true') {
        let n = tr.nextElementSibling;
        while (n && n.classList.contains('child')) { const x = n.nextElementSibling; n.remove(); n = x; }
        b.setAttribute('aria-expanded', 'false');
        b.textContent = '▸ ' + a.children + ' grouped';
        return;
      }
      try {
        const res = await api('GET', '/api/v1/alerts?parent=' + encodeURIComponent(a.id) + '&limit=500');
        let after = tr;
        for (const c of res.alerts) { const r = row(c, true); after.after(r); after = r; }
        b.setAttribute('aria-expanded', 'true');
        b.textContent = '▾ ' + a.children + ' grouped';
      } catch (err) { fail(err); }
    }

    async function load() {
      try {
        const res = await api('GET', '/api/v1/alerts?' + query());
        const rows = res.alerts.map((a) => row(a, false));
        // A live reload keeps the keyboard focus on the same alert.
        const fa = document.activeElement;
        const ftr = fa && fa.closest ? fa.closest('#alert-rows tr') : null;
        const refocus = ftr && ftr.dataset.id ? [ftr.dataset.id, fa.classList.contains('select') ? 'input.select' : 'a.row-link'] : null;
        $('alert-rows').replaceChildren(...(rows.length ? rows : [el('tr', {}, el('td', { colspan: cols, class: 'muted', text: 'No alerts match.' }))]));
        const last = Math.min(offset + res.alerts.length, res.total);
        $('count').textContent = res.total + (res.total === 1 ? ' alert' : ' alerts') + (res.total ? ' · showing ' + (offset + 1) + '–' + last : '');
        $('page').textContent = 'page ' + (Math.floor(offset / PAGE) + 1) + ' of ' + Math.max(1, Math.ceil(res.total / PAGE));
        $('prev').disabled = offset === 0;
        $('next').disabled = offset + PAGE >= res.total;
        if (refocus) {
          const r = document.querySelector('#alert-rows tr[data-id="' + CSS.escape(refocus[0]) + '"] ' + refocus[1]);
          if (r) r.focus();
        }
        changed.clear();
        showSelection();
        if (!painted) {
          // First paint of the list: the frame after its rows entered the
          // document, in ms since navigation started (the test reads it).
          painted = true;
          requestAnimationFrame(() => { body.dataset.firstPaint = String(Math.round(performance.now())); });
        }
        body.dataset.loaded = String(Date.now());
      } catch (err) { fail(err); }
    }

    function go(o) {
      offset = Math.max(0, o);
      const p = new URLSearchParams(location.search);
      p.set('offset', offset);
      history.replaceState(null, '', '/alerts?' + p);
      load();
    }
    $('prev').addEventListener('click', () => go(offset - PAGE));
    $('next').addEventListener('click', () => go(offset + PAGE));
    const reload = debounce(load, 250);

    function pick(id, on) {
      if (on) selected.add(id); else selected.delete(id);
      showSelection();
    }
    function showSelection() {
      if (!canAct) return;
      const n = selected.size;
      $('bulk-count').textContent = n ? n + (n === 1 ? ' alert' : ' alerts') + ' selected' : 'None selected';
      for (const id of ['bulk-ack', 'bulk-resolve', 'bulk-clear']) $(id).disabled = n === 0;
      const boxes = Array.from(document.querySelectorAll('#alert-rows input.select'));
      for (const b of boxes) b.checked = selected.has(b.closest('tr').dataset.id);
      $('select-page').checked = boxes.length > 0 && boxes.every((b) => b.checked);
      body.dataset.selected = String(n);
    }
    // One action with one comment on every selected alert, through the
    // API's bulk route; each alert's outcome comes back on its own.
    async function bulk(action) {
      const ids = Array.from(selected);
      try {
        const res = await api('POST', '/api/v1/alerts/actions', { action, ids, comment: $('bulk-comment').value.trim() });
        const done = { acknowledge: 'Acknowledged', resolve: 'Resolved' }[action];
        for (const r of res.results) if (r.status === 200) selected.delete(r.id);
        const refused = res.results.filter((r) => r.status !== 200);
        flash(done + ' ' + res.ok + ' of ' + ids.length + (refused.length
          ? '; not done: ' + refused.map((r) => r.id + ' (' + r.error + ')').join('; ') + ' (still selected)'
          : '.'), refused.length === 0);
        if (!refused.length) $('bulk-comment').value = '';
        load();
      } catch (err) { fail(err); }
    }
    if (canAct) {
      $('bulk').addEventListener('submit', (e) => {
        e.preventDefault();
        const action = e.submitter && e.submitter.value;
        if (action) bulk(action);
      });
      $('bulk-clear').addEventListener('click', () => { selected.clear(); showSelection(); });
      $('select-page').addEventListener('change', (e) => {
        for (const tr of document.querySelectorAll('#alert-rows tr.alert-row')) {
          if (e.target.checked) selected.add(tr.dataset.id); else selected.delete(tr.dataset.id);
        }
        showSelection();
      });
    }
    live((c) => { changed.add(c.alert.id); reload(); });
    load();
  }

  // ---- alert detail ----
  function alertPage() {
    const id = body.dataset.id;
    let cur = null;

    function facts(pairs) {
      return el('dl', { class: 'facts' }, pairs.filter((p) => p[1] !== undefined && p[1] !== null && p[1] !== '')
        .map(([k, v]) => [el('dt', { text: k }), el('dd', {}, v)]));
    }

    // longText keeps a long message (a stack trace) to its start, the
    // whole of it one click or Enter away.
    function longText(s) {
      if (s.length <= 160) return s;
      return el('details', {}, el('summary', { text: s.slice(0, 160).replace(/\s+\S*$/, '') + ' …' }), el('div', { class: 'full', text: s }));
    }

    // The timeline merges, newest first, the state changes, the
    // notifications sent (or tried) to receivers and the events kept with
    // the alert (the first and the latest ones).
    function timeline(d) {
      const items = [];
      for (const h of d.history) {
        items.push({ at: h.at, kind: 'change', row: el('tr', { class: 'history-row' },
          el('td', { text: fmtTime(h.at) }), el('td', { text: h.kind }), el('td', { text: h.by }),
          el('td', {}, state(h.state)), el('td', { text: h.note || '' })) });
      }
      for (const n of d.notifications || []) {
        const at = n.done_at || n.claimed_at;
        const note = [n.attempts ? n.attempts + (n.attempts === 1 ? ' attempt' : ' attempts') : '', n.error || '',
          'change ' + n.change_seq + (n.server ? ' by server ' + n.server : '')].filter(Boolean).join(' · ');
        items.push({ at, kind: 'notification', row: el('tr', { class: 'notify-row', 'data-result': n.result },
          el('td', { text: fmtTime(at) }), el('td', { text: 'notified ' + n.status }), el('td', { text: n.receiver }),
          el('td', {}, el('span', { class: 'result result-' + n.result, text: n.result })), el('td', { text: note })) });
      }
      for (const e of d.events) {
        items.push({ at: e.time, kind: 'event', row: el('tr', { class: 'event-row' },
          el('td', { text: fmtTime(e.time) }), el('td', { text: 'event ' + (e.level || '') }),
          el('td', { text: [e.host, e.source].filter(Boolean).join(' · ') }), el('td', { text: e.level || '' }),
          el('td', { class: 'message' }, longText((e.message || '') + (e.organization ? ' (' + e.organization + ')' : '')))) });
      }
      // Newest first; at equal times the later-listed item (a state change
      // after its event, a notification after its change) goes first.
      const keyed = items.map((it, i) => ({ ...it, t: Date.parse(it.at) || 0, i }));
      keyed.sort((x, y) => y.t - x.t || y.i - x.i);
      const shown = new Set(Array.from(document.querySelectorAll('#timeline-kinds input:checked')).map((c) => c.value));
      const rows = keyed.filter((it) => shown.has(it.kind)).map((it) => { it.row.dataset.at = it.at; return it.row; });
      $('history').replaceChildren(...(rows.length ? rows : [el('tr', {}, el('td', { colspan: 5, class: 'muted', text: 'Nothing to show.' }))]));
      const a = d.alert;
      $('timeline-note').textContent = (d.notifications || []).length + ' notification(s); ' + d.events.length + ' of ' + a.event_count +
        ' event(s) kept with the alert' + (a.event_count > d.events.length ? ' (the first and the latest ones)' : '') +
        (a.event_count === 0 ? ' (a counter or availability alert has none)' : '') + '.';
    }

    function render(d) {
      cur = d;
      const a = d.alert;
      const orgs = a.organizations.map((o, i) => (a.organization_names && a.organization_names[i] ? a.organization_names[i] + ' (' + o + ')' : o));
      $('alert-head').replaceChildren(
        el('h2', {}, sev(a.severity), ' ', state(a.state), ' ', a.summary || a.rule),
        facts([['Rule', a.rule], ['Key', d.key], ['Hosts', list(a.hosts)], ['Organizations', list(orgs)],
          ['First seen', fmtTime(a.first_seen)], ['Last seen', fmtTime(a.last_seen)],
          ['Repeats', String(a.repeat_count)], ['Events', String(a.event_count)],
          ['Resolved', d.resolved_at ? fmtTime(d.resolved_at) : ''], ['Assignee', a.assignee],
          ['Suppressed by', a.suppressed_by],
          ['Grouped under', a.parent_id ? el('a', { href: '/alerts/' + encodeURIComponent(a.parent_id), text: a.parent_id }) : ''],
          ['Id', a.id + ' (version ' + a.version + ')']]));
      const k = d.knowledge || {};
      $('knowledge').replaceChildren(facts([['Cause', k.cause || '—'], ['Resolution', k.resolution || '—'],
        ...Object.entries(d.fields || {}).map(([n, v]) => [n, v])]));
      $('children').replaceChildren(d.children && d.children.length
        ? el('ul', {}, d.children.map((c) => el('li', {}, sev(c.severity), ' ', state(c.state), ' ',
          el('a', { href: '/alerts/' + encodeURIComponent(c.id), text: c.summary || c.rule }), ' ', list(c.hosts))))
        : el('p', { class: 'muted', text: 'None.' }));
      timeline(d);
      if (canAct) {
        $('ack').disabled = a.state !== 'new';
        $('resolve').disabled = a.state === 'resolved';
        const sm = $('silence-matchers');
        if (!sm.value) sm.value = ['rule=' + a.rule].concat(a.hosts.length === 1 ? ['host=' + a.hosts[0]] : []).join('\n');
      }
      body.dataset.state = a.state;
    }

    let again = null;
    async function load() {
      try {
        const d = await api('GET', '/api/v1/alerts/' + encodeURIComponent(id));
        render(d);
        // Notifications are logged after the change that caused them: look
        // again while one is still being sent.
        clearTimeout(again);
        if ((d.notifications || []).some((n) => n.result === 'sending')) again = setTimeout(load, 3000);
      } catch (err) { fail(err); }
    }

    async function act(action) {
      const comment = $('comment').value.trim();
      const req = { comment };
      if (action === 'assign') req.assignee = $('assignee').value.trim();
      // No version condition: an alert that repeated meanwhile is still
      // the one the operator means; the API refuses what its state forbids.
      try {
        render(await api('POST', '/api/v1/alerts/' + encodeURIComponent(id) + '/' + action, req));
        $('comment').value = '';
        flash({ acknowledge: 'Acknowledged', resolve: 'Resolved', comment: 'Comment added', assign: 'Assigned' }[action] + '.', true);
      } catch (err) {
        fail(err);
        if (err.status === 409) load();
      }
    }

    if (canAct) {
      for (const b of document.querySelectorAll('#actions button[data-action]')) {
        b.addEventListener('click', () => act(b.dataset.action));
      }
      $('silence').addEventListener('click', async () => {
        try {
          const s = await api('POST', '/api/v1/silences', {
            matchers: splitList($('silence-matchers').value), duration: $('silence-for').value.trim(),
            comment: $('silence-comment').value.trim() || 'silenced from alert ' + id,
          });
          flash('Silenced until ' + fmtTime(s.end) + ' (' + s.matchers.map((m) => m.label + m.op + m.value).join(' ') + ')', true);
          setTimeout(load, 1500);
        } catch (err) { fail(err); }
      });
    }
    for (const c of document.querySelectorAll('#timeline-kinds input')) c.addEventListener('change', () => { if (cur) timeline(cur); });
    live((c) => { if (c.alert.id === id) { load(); setTimeout(load, 3000); } });
    load();
  }

  // ---- agents ----
  async function agentsPage() {
    try {
      const [ag, tr] = await Promise.all([api('GET', '/api/v1/agents'),
        api('GET', '/api/v1/trace/status').catch(() => ({ agents: [] }))]);
      const trace = new Map(tr.agents.map((t) => [t.host, t]));
      $('agents').replaceChildren(...(ag.agents.length ? ag.agents.map((a) => {
        const t = trace.get(a.host);
        return el('tr', {},
          el('td', { text: a.host }), el('td', {}, el('span', { class: 'status-' + a.status, text: a.status })),
          el('td', { text: list(a.roles) }), el('td', { text: a.version }), el('td', { text: fmtTime(a.last_heartbeat) }),
          el('td', {}, list(a.collectors), a.sources.map((s) => el('div', { class: 'muted', text: s.collector + ' ' + s.path + ': ' + s.status + (s.detail ? ' (' + s.detail + ')' : '') }))),
          el('td', { text: t ? t.result + (t.applied && t.applied.setting ? ' (' + (t.applied.setting.enabled ? 'on ' + (t.applied.setting.categories || '') : 'off') + ')' : '') : '—' }),
          el('td', { class: a.warnings.length ? 'error' : 'muted', text: a.warnings.length ? a.warnings.join('; ') : 'none' }));
      }) : [el('tr', {}, el('td', { colspan: 8, class: 'muted', text: 'No agent has registered.' }))]));
    } catch (err) { fail(err); }
  }

  // ---- maintenance windows and silences ----
  function maintenancePage() {
    async function load() {
      try {
        const [w, s] = await Promise.all([api('GET', '/api/v1/maintenance'), api('GET', '/api/v1/silences')]);
        $('windows').replaceChildren(...w.windows.map((x) => el('tr', {},
          el('td', { text: [['hosts', x.hosts], ['roles', x.roles], ['groups', x.groups]].filter((p) => p[1] && p[1].length).map((p) => p[0] + ': ' + p[1].join(', ')).join('; ') }),
          el('td', { text: x.weekly ? 'weekly ' + x.weekly.days.join(',') + ' at ' + x.weekly.at + ' for ' + x.weekly.duration + ' (' + x.weekly.tz + ')' : fmtTime(x.start) + ' – ' + fmtTime(x.end) }),
          el('td', { text: x.active ? 'yes' : 'no' }), el('td', { text: x.comment || '' }), el('td', { text: x.created_by }),
          el('td', {}, canAct ? el('button', { type: 'button', text: 'Remove', onclick: () => remove(x.id) }) : null))));
        $('silences').replaceChildren(...s.silences.map((x) => el('tr', {},
          el('td', { text: x.matchers.map((m) => m.label + m.op + m.value).join(' ') }),
          el('td', { text: fmtTime(x.expired_at || x.end) }), el('td', { text: x.active ? 'yes' : 'no' }),
          el('td', { text: x.comment }), el('td', { text: x.created_by }),
          el('td', {}, canAct && x.active ? el('button', { type: 'button', text: 'Expire', onclick: () => expire(x.id) }) : null))));
      } catch (err) { fail(err); }
    }
    async function remove(id) {
      try { await api('DELETE', '/api/v1/maintenance/' + encodeURIComponent(id)); flash('Window removed', true); load(); } catch (err) { fail(err); }
    }
    async function expire(id) {
      try { await api('POST', '/api/v1/silences/' + encodeURIComponent(id) + '/expire'); flash('Silence expired', true); load(); } catch (err) { fail(err); }
    }
    if (canAct) {
      $('window-form').addEventListener('submit', async (e) => {
        e.preventDefault();
        const f = e.target.elements;
        try {
          const start = f.start.value ? new Date(f.start.value) : new Date();
          const end = new Date(start.getTime() + parseDuration(f.for.value.trim()));
          await api('POST', '/api/v1/maintenance', { hosts: splitList(f.hosts.value), roles: splitList(f.roles.value),
            groups: splitList(f.groups.value), start: start.toISOString(), end: end.toISOString(), comment: f.comment.value.trim() });
          flash('Window added', true);
          e.target.reset();
          load();
        } catch (err) { fail(err); }
      });
      $('silence-form').addEventListener('submit', async (e) => {
        e.preventDefault();
        const f = e.target.elements;
        try {
          await api('POST', '/api/v1/silences', { matchers: splitList(f.matchers.value), duration: f.for.value.trim(), comment: f.comment.value.trim() });
          flash('Silence added', true);
          e.target.reset();
          load();
        } catch (err) { fail(err); }
      });
    }
    load();
  }

  // ---- trace control ----
  function tracePage() {
    const describe = (s) => (s ? (s.enabled ? 'on ' + (s.categories || '') : 'off') : '—');
    async function load() {
      try {
        const st = await api('GET', '/api/v1/trace/status');
        $('trace-agents').replaceChildren(...st.agents.map((a) => el('tr', {},
          el('td', { text: a.host }), el('td', { text: a.online ? 'yes' : 'no' }), el('td', { text: describe(a.desired) }),
          el('td', { text: a.source || '—' }), el('td', { text: a.result + (a.reason ? ' (' + a.reason + ')' : '') }),
          el('td', { text: a.applied_at ? fmtTime(a.applied_at) : '—' }), el('td', { text: a.expires ? fmtTime(a.expires) : '—' }))));
        $('trace-settings').replaceChildren(...st.settings.map((s) => el('tr', {},
          el('td', { text: s.target.scope + (s.target.name ? ' ' + s.target.name : '') }), el('td', { text: describe(s) }),
          el('td', { text: s.categories || '' }), el('td', { text: s.set_by }), el('td', { text: s.expires ? fmtTime(s.expires) : 'never' }),
          el('td', { text: s.reason || '' }))));
      } catch (err) { fail(err); }
    }
    if (canTrace) {
      const form = $('trace-form');
      const target = () => ({ scope: form.elements.scope.value, name: form.elements.scope.value === 'farm' ? undefined : form.elements.name.value.trim() });
      const done = (r) => { flash('Setting ' + (r.setting && r.setting.id ? r.setting.id + ' ' : '') + 'sent to ' + ((r.agents || []).length) + ' agent(s)' + (r.warnings && r.warnings.length ? '; ' + r.warnings.join('; ') : ''), true); load(); };
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        const f = form.elements;
        try {
          done(await api('POST', '/api/v1/trace/settings', { target: target(), off: f.off.value === 'off',
            categories: f.categories.value.trim() || undefined, for: f.for.value.trim() || undefined, reason: f.reason.value.trim() }));
        } catch (err) { fail(err); }
      });
      $('trace-clear').addEventListener('click', async () => {
        try { done(await api('POST', '/api/v1/trace/settings/clear', { target: target(), reason: form.elements.reason.value.trim() })); } catch (err) { fail(err); }
      });
    }
    load();
    setInterval(load, 10000);
  }

  // ---- audit and operators (admin) ----
  function auditPage() {
    const form = $('audit-filter');
    async function load() {
      const p = new URLSearchParams({ limit: '500' });
      if (form.elements.actor.value.trim()) p.set('actor', form.elements.actor.value.trim());
      if (form.elements.since.value.trim()) p.set('since', form.elements.since.value.trim());
      try {
        const res = await api('GET', '/api/v1/audit?' + p);
        $('audit').replaceChildren(...res.entries.map((x) => el('tr', {}, el('td', { text: fmtTime(x.at) }), el('td', { text: x.actor }),
          el('td', { text: x.action }), el('td', { text: x.target }), el('td', { text: x.detail || '' }))));
      } catch (err) { fail(err); }
    }
    form.addEventListener('submit', (e) => { e.preventDefault(); load(); });
    load();
  }

  // Operators (admin): add, give a new token, revoke. A token is shown
  // once, in the page only, never stored by the browser.
  function operatorsPage() {
    const tbody = $('operators');
    const me = tbody.dataset.me;
    function showToken(title, res) {
      $('new-token-title').textContent = title;
      $('token-value').textContent = res.token;
      $('new-token').hidden = false;
      $('token-done').focus();
    }
    // Two clicks: the first arms the button for five seconds (no modal
    // dialog; the keyboard works the same).
    function confirmButton(cls, label, armed, fn) {
      const b = el('button', { type: 'button', class: cls, text: label });
      let timer = null;
      b.addEventListener('click', () => {
        if (!timer) {
          b.textContent = armed;
          b.classList.add('armed');
          timer = setTimeout(() => { timer = null; b.textContent = label; b.classList.remove('armed'); }, 5000);
          return;
        }
        clearTimeout(timer);
        timer = null;
        fn();
      });
      return b;
    }
    async function load() {
      try {
        const res = await api('GET', '/api/v1/operators');
        tbody.replaceChildren(...res.operators.map((o) => el('tr', { 'data-name': o.name, 'data-revoked': o.revoked_at ? 'true' : 'false' },
          el('td', { text: o.name }), el('td', { text: o.role }),
          el('td', { text: fmtTime(o.created_at) }), el('td', { text: o.rotated_at ? fmtTime(o.rotated_at) : '—' }),
          el('td', { text: o.revoked_at ? fmtTime(o.revoked_at) : '—' }),
          el('td', { class: 'row-actions' }, o.revoked_at || o.name === me ? null : [
            confirmButton('rotate', 'New token', 'Confirm: new token for ' + o.name, () => rotate(o.name)), ' ',
            confirmButton('revoke', 'Revoke', 'Confirm: revoke ' + o.name, () => revoke(o.name))]))));
        body.dataset.loaded = String(Date.now());
      } catch (err) { fail(err); }
    }
    const path = (name, what) => '/api/v1/operators/' + encodeURIComponent(name) + '/' + what;
    async function revoke(name) {
      try {
        await api('POST', path(name, 'revoke'));
        flash('Operator ' + name + ' revoked; their token and console sessions no longer work.', true);
        load();
      } catch (err) { fail(err); load(); }
    }
    async function rotate(name) {
      try {
        showToken('New token for ' + name, await api('POST', path(name, 'rotate')));
        flash('Operator ' + name + ' has a new token; the old one and their sessions no longer work.', true);
        load();
      } catch (err) { fail(err); load(); }
    }
    $('operator-form').addEventListener('submit', async (e) => {
      e.preventDefault();
      const f = e.target.elements;
      try {
        const res = await api('POST', '/api/v1/operators', { name: f.name.value.trim(), role: f.role.value });
        showToken('Token for ' + res.name + ' (' + res.role + ')', res);
        flash('Operator ' + res.name + ' added.', true);
        e.target.reset();
        load();
      } catch (err) { fail(err); }
    });
    $('token-done').addEventListener('click', () => { $('token-value').textContent = ''; $('new-token').hidden = true; });
    load();
  }

  const pages = { alerts: alertsPage, alert: alertPage, agents: agentsPage, maintenance: maintenancePage, trace: tracePage, audit: auditPage, operators: operatorsPage };
  const run = pages[body.dataset.page];
  if (run) run();
})();
