/* Live dashboard for orderd and the lab workers.
 *
 * The page knows nothing about the program: GET /api/live (common/tseries.h)
 * names the series and the charts, and keeps the last minutes server-side,
 * so a freshly opened page draws them at once; afterwards it asks once per
 * interval for the new points only (?since=<next>).
 *
 * Every series' latest value is in the DOM as data-series / data-value
 * attributes (legends and the summary strip), so tests and scripts can read
 * what the charts show.
 *
 * Profile buttons fetch /debug/pprof/<profile> as a blob (showing a progress
 * bar and the seconds left for timed profiles), then open speedscope
 * (/debug/pprof/ui/) in an overlay with #profileURL=<object URL>, so the
 * profile is taken once and can also be downloaded for go tool pprof. The
 * trace downloads as a Chrome Trace Event file for Perfetto.
 *
 * Query parameters: cpu_seconds (default 10) and trace_seconds (default 5)
 * change the profile durations (the tests use short ones). */
(function () {
  'use strict';

  const params = new URLSearchParams(location.search);
  const posInt = (v, d) => {
    const n = Number.parseInt(v, 10);
    return Number.isFinite(n) && n > 0 && n <= 300 ? n : d;
  };
  const cpuSeconds = posInt(params.get('cpu_seconds'), 10);
  const traceSeconds = posInt(params.get('trace_seconds'), 5);

  const PALETTE = ['#2f6fdb', '#e67e22', '#1e8a4c', '#c0392b', '#8e44ad', '#16a085', '#7f8c8d'];
  /* Series of the same priority share a color across charts. */
  const PRIORITY = { 1: '#c0392b', 2: '#2f6fdb', 3: '#1e8a4c' };

  const state = {
    meta: null, // title, interval_ms, capacity, series, charts, profiling
    t: [],
    values: [], // one array per series
    next: 0,
    charts: [], // {u, idx: [series indexes], el}
    failures: 0,
  };

  /* ---- formatting ---------------------------------------------------- */

  function fmtBytes(v) {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (Math.abs(v) >= 1024 && i < units.length - 1) {
      v /= 1024;
      i++;
    }
    return (i === 0 ? v.toFixed(0) : v.toFixed(v < 10 ? 2 : 1)) + ' ' + units[i];
  }

  function fmtNum(v) {
    const a = Math.abs(v);
    if (a >= 1e6) return (v / 1e6).toFixed(1) + 'M';
    if (a >= 1e4) return (v / 1e3).toFixed(1) + 'k';
    if (a >= 100 || Number.isInteger(v)) return v.toFixed(0);
    if (a >= 10) return v.toFixed(1);
    return v.toFixed(2);
  }

  function fmt(v, unit) {
    if (v == null || !Number.isFinite(v)) return '–';
    switch (unit) {
      case 'bytes': return fmtBytes(v);
      case 'ms': return fmtNum(v) + ' ms';
      case '/s': return fmtNum(v) + '/s';
      case '%': return fmtNum(v) + '%';
      default: return unit ? fmtNum(v) + ' ' + unit : fmtNum(v);
    }
  }

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text != null) e.textContent = text;
    return e;
  }

  function colorOf(name, i) {
    const m = /_([123])$/.exec(name);
    return m ? PRIORITY[m[1]] : PALETTE[i % PALETTE.length];
  }

  /* ---- building the page from the metadata ----------------------------- */

  function build(meta) {
    document.title = meta.title + ' — live';
    document.getElementById('title').textContent = meta.title;
    const charted = new Set();
    const container = document.getElementById('charts');
    container.textContent = '';
    state.charts = [];
    for (const ch of meta.charts) {
      const idx = ch.series.map((n) => meta.series.findIndex((s) => s.name === n)).filter((i) => i >= 0);
      idx.forEach((i) => charted.add(i));
      const box = el('section', { class: 'chart', 'data-chart': ch.title, 'data-points': '0' });
      box.appendChild(el('h2', {}, ch.title));
      const plot = el('div', { class: 'plot' });
      box.appendChild(plot);
      const legend = el('div', { class: 'legend' });
      idx.forEach((i, k) => {
        const s = meta.series[i];
        const item = el('span', { class: 'item' });
        const sw = el('span', { class: 'sw' });
        sw.style.background = colorOf(s.name, k);
        item.append(sw, s.label + ' ');
        item.appendChild(el('span', { class: 'val', 'data-series': s.name, 'data-value': '' }, '–'));
        legend.appendChild(item);
      });
      box.appendChild(legend);
      container.appendChild(box);
      const unit = ch.unit;
      const opts = {
        width: Math.max(300, plot.clientWidth || 500),
        height: 200,
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true }, y: { range: (u, lo, hi) => [Math.min(0, lo), hi > 0 ? hi * 1.1 : 1] } },
        axes: [
          { stroke: '#5b6475', grid: { stroke: '#eef0f4' } },
          { stroke: '#5b6475', grid: { stroke: '#eef0f4' }, size: 70, values: (u, splits) => splits.map((v) => fmt(v, unit)) },
        ],
        series: [{}].concat(idx.map((i, k) => ({
          label: meta.series[i].label,
          stroke: colorOf(meta.series[i].name, k),
          width: 1.5,
          spanGaps: false,
          value: (u, v) => fmt(v, meta.series[i].unit),
        }))),
      };
      const u = new uPlot(opts, [[]].concat(idx.map(() => [])), plot);
      state.charts.push({ u, idx, box, plot });
    }
    /* Series in no chart (cumulative totals) go to the summary strip. */
    const summary = document.getElementById('summary');
    summary.textContent = '';
    meta.series.forEach((s, i) => {
      if (charted.has(i)) return;
      const box = el('div', { class: 'stat' });
      box.appendChild(el('span', { class: 'k' }, s.label));
      box.appendChild(el('span', { class: 'v', 'data-series': s.name, 'data-value': '' }, '–'));
      summary.appendChild(box);
    });
    if (typeof ResizeObserver === 'function') {
      const ro = new ResizeObserver(() => {
        for (const c of state.charts) {
          const w = Math.max(300, c.plot.clientWidth);
          if (w !== c.u.width) c.u.setSize({ width: w, height: 200 });
        }
      });
      state.charts.forEach((c) => ro.observe(c.plot));
    }
    setupProfiles(meta.profiling !== false);
    /* A program that serves only some of the header's pages (the lab
     * workers have no /stats or /health) lists those it has. */
    if (Array.isArray(meta.links)) {
      for (const a of document.querySelectorAll('header nav a')) {
        a.hidden = !meta.links.includes(a.getAttribute('href'));
      }
    }
  }

  /* ---- data ------------------------------------------------------------ */

  function append(data) {
    const cap = state.meta.capacity || 300;
    state.t.push(...data.t);
    data.values.forEach((col, i) => state.values[i].push(...col));
    const extra = state.t.length - cap;
    if (extra > 0) {
      state.t.splice(0, extra);
      state.values.forEach((col) => col.splice(0, extra));
    }
    state.next = data.next;
  }

  function render() {
    const n = state.t.length;
    for (const c of state.charts) {
      c.u.setData([state.t].concat(c.idx.map((i) => state.values[i])));
      c.box.setAttribute('data-points', String(n));
    }
    /* Latest value of every series: the last non-null point. */
    state.meta.series.forEach((s, i) => {
      const col = state.values[i];
      let v = null;
      for (let k = col.length - 1; k >= 0 && k >= col.length - 5; k--) {
        if (col[k] != null) { v = col[k]; break; }
      }
      for (const e of document.querySelectorAll(`[data-series="${s.name}"]`)) {
        e.textContent = fmt(v, s.unit);
        e.setAttribute('data-value', v == null ? '' : String(v));
      }
    });
    document.body.setAttribute('data-points', String(n));
    document.body.setAttribute('data-state', 'live');
  }

  function setConn(ok, text) {
    const c = document.getElementById('conn');
    c.setAttribute('data-state', ok ? 'ok' : 'error');
    c.textContent = text;
  }

  async function poll() {
    let delay = state.meta ? state.meta.interval_ms : 1000;
    try {
      const url = state.meta ? `/api/live?since=${state.next}` : '/api/live';
      const r = await fetch(url, { cache: 'no-store' });
      if (!r.ok) throw new Error(`/api/live: HTTP ${r.status}`);
      const data = await r.json();
      if (data.error) throw new Error(data.error);
      if (!state.meta) {
        state.meta = data;
        state.values = data.series.map(() => []);
        build(data);
      }
      append(data);
      render();
      state.failures = 0;
      setConn(true, `updated ${new Date().toLocaleTimeString()} · ${state.t.length} points`);
    } catch (e) {
      state.failures++;
      setConn(false, `no data: ${e.message} (retrying)`);
      delay = Math.min(10000, 1000 * state.failures);
    }
    setTimeout(poll, delay);
  }

  /* ---- profiles -------------------------------------------------------- */

  const PROFILES = {
    cpu: { title: `CPU profile (${cpuSeconds} s)`, url: `/debug/pprof/profile?seconds=${cpuSeconds}`, seconds: cpuSeconds, file: 'cpu.pb.gz' },
    heap: { title: 'Heap (in use)', url: '/debug/pprof/heap', file: 'heap.pb.gz' },
    allocs: { title: 'Allocations', url: '/debug/pprof/allocs', file: 'allocs.pb.gz' },
    threads: { title: 'Threads', url: '/debug/pprof/goroutine', file: 'threads.pb.gz' },
    mutex: { title: 'Mutex contention', url: '/debug/pprof/mutex', file: 'mutex.pb.gz' },
    block: { title: 'Blocking', url: '/debug/pprof/block', file: 'block.pb.gz' },
    trace: { title: `Trace (${traceSeconds} s)`, url: `/debug/pprof/trace?seconds=${traceSeconds}`, seconds: traceSeconds, file: 'trace.json', download: true },
  };
  let busy = false;
  let flameURL = null; // object URL shown in the overlay

  function buttons() { return document.querySelectorAll('button[data-profile]'); }

  function setupProfiles(available) {
    for (const b of buttons()) {
      const p = PROFILES[b.dataset.profile];
      b.textContent = b.dataset.profile === 'cpu' || b.dataset.profile === 'trace' ? p.title : b.textContent;
      b.disabled = !available;
      b.title = available ? `GET ${p.url}` : 'profiling is not served on this listener: use the admin listener (--admin-listen)';
    }
  }

  function status(stateName, text, progress) {
    const s = document.getElementById('profile-status');
    s.setAttribute('data-state', stateName);
    s.querySelector('.text').textContent = text;
    const bar = s.querySelector('.bar');
    bar.hidden = progress === undefined;
    bar.classList.toggle('indeterminate', progress === null);
    bar.querySelector('.fill').style.width = progress == null ? '' : `${Math.round(progress * 100)}%`;
    return s;
  }

  async function takeProfile(kind) {
    const p = PROFILES[kind];
    if (busy || !p) return;
    busy = true;
    for (const b of buttons()) b.disabled = true;
    const t0 = performance.now();
    const tick = () => {
      const el = (performance.now() - t0) / 1000;
      if (p.seconds) {
        const left = Math.max(0, Math.ceil(p.seconds - el));
        status('running', left > 0 ? `${p.title}: ${left} s left…` : `${p.title}: symbolizing and downloading…`, Math.min(1, el / p.seconds));
      } else {
        status('running', `${p.title}: downloading…`, null);
      }
    };
    tick();
    const timer = setInterval(tick, 250);
    try {
      const r = await fetch(p.url, { cache: 'no-store' });
      if (!r.ok) {
        const text = (await r.text()).trim().split('\n')[0].slice(0, 300);
        throw new Error(`${p.url} answered ${r.status}${text ? ': ' + text : ''}`);
      }
      const blob = await r.blob();
      const size = fmtBytes(blob.size);
      if (p.download) {
        saveBlob(blob, p.file);
        status('done', `${p.title}: ${size} saved as ${p.file}. Open it at ui.perfetto.dev ("Open trace file"), in chrome://tracing, or in speedscope.`);
      } else {
        openFlame(blob, p);
        status('done', `${p.title}: ${size}, opened as a flame graph.`);
      }
    } catch (e) {
      status('error', `${p.title} failed: ${e.message}`);
    } finally {
      clearInterval(timer);
      busy = false;
      setupProfiles(state.meta ? state.meta.profiling !== false : true);
    }
  }

  function saveBlob(blob, name) {
    const url = URL.createObjectURL(blob);
    const a = el('a', { href: url, download: name });
    document.body.appendChild(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
  }

  function openFlame(blob, p) {
    if (flameURL) URL.revokeObjectURL(flameURL);
    flameURL = URL.createObjectURL(blob);
    const title = `${state.meta ? state.meta.title : ''} ${p.title}`.trim();
    /* left-heavy: stacks merged and sorted, the classic flame graph. */
    const src = `/debug/pprof/ui/#profileURL=${encodeURIComponent(flameURL)}&title=${encodeURIComponent(title)}&view=left-heavy`;
    const ov = document.getElementById('flame');
    ov.querySelector('.flame-title').textContent = title;
    ov.querySelector('.flame-newtab').href = src;
    const dl = ov.querySelector('.flame-download');
    dl.href = flameURL;
    dl.download = p.file;
    const frame = ov.querySelector('.flame-frame');
    frame.textContent = '';
    /* A new iframe each time: speedscope reads the hash only at start-up. */
    frame.appendChild(el('iframe', { src, title: 'flame graph (speedscope)' }));
    ov.hidden = false;
    ov.setAttribute('data-profile', Object.keys(PROFILES).find((k) => PROFILES[k] === p));
  }

  function closeFlame() {
    const ov = document.getElementById('flame');
    ov.hidden = true;
    ov.querySelector('.flame-frame').textContent = '';
  }

  /* ---- start ----------------------------------------------------------- */

  for (const b of buttons()) b.addEventListener('click', () => takeProfile(b.dataset.profile));
  document.querySelector('.flame-close').addEventListener('click', closeFlame);
  document.addEventListener('keydown', (e) => { if (e.key === 'Escape') closeFlame(); });
  if (typeof uPlot !== 'function') {
    setConn(false, 'uPlot did not load');
    return;
  }
  poll();
})();
