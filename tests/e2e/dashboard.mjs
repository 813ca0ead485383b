// End-to-end test of the live dashboard in real headless Chromium
// (playwright-core driving Debian's /usr/bin/chromium). Run by
// tests/e2e/test_dashboard.sh against a loaded orderd:
//
//   BASE=http://127.0.0.1:PORT SHOTS=dir FUNCS=file node tests/e2e/dashboard.mjs
//
// FUNCS lists orderd's own function names (one per line, from nm); the flame
// graph must show at least one of them. Checks:
//  1. the page loads, every chart gets points, and no JavaScript error or
//     unexpected console error appears (failed loads of profile endpoints
//     that answered 4xx/5xx are expected: the page shows their error);
//  2. the latest values in the DOM are non-zero and match /stats within
//     tolerance (the dashboard's totals are at most a few seconds older);
//  3. the "Heap", "Allocations", "Threads", "Mutex" and "Block" buttons
//     each end in a flame graph or a visible error text;
//  4. the CPU-profile button (cpu_seconds=2) shows a progress bar with the
//     seconds left, then speedscope renders the profile and its sandwich
//     table names an orderd function;
//  5. the trace button downloads trace.json with a note on Perfetto.
// Screenshots go to SHOTS (dashboard.png, flame-cpu.png, ...).
//
// With KIND=lab (tests/e2e/test_lab_dashboard.sh) the page is a lab worker's
// at its metrics address: step 2 then checks tasks/s and the task total
// against the worker's /metrics, and that the header hides the links the
// worker does not serve (/stats, /health); FUNCS are the lab's functions.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../../web/package.json'));
const { chromium } = require('playwright-core');

const BASE = process.env.BASE;
const KIND = process.env.KIND || 'orderd';
const A_FUNCTION = KIND === 'lab' ? 'a lab function' : 'an orderd function';
const SHOTS = process.env.SHOTS || 'build/screenshots';
const FUNCS = (process.env.FUNCS ? fs.readFileSync(process.env.FUNCS, 'utf8') : '')
  .split('\n').map((s) => s.trim()).filter((s) => s.length >= 6);
if (!BASE) {
  console.error('dashboard.mjs: BASE is not set');
  process.exit(2);
}
fs.mkdirSync(SHOTS, { recursive: true });

let failures = 0;
function check(cond, what) {
  console.log(`${cond ? 'ok  ' : 'FAIL'} ${what}`);
  if (!cond) failures++;
  return cond;
}
function note(msg) { console.log(`     ${msg}`); }

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run',
    // speedscope draws with WebGL: software rendering without a GPU.
    '--use-angle=swiftshader', '--enable-unsafe-swiftshader'],
});
const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, acceptDownloads: true });
const page = await context.newPage();

const errors = [];
const failedLoads = new Set(); // URLs that answered >= 400 (expected for missing profiles)
page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
page.on('response', (r) => { if (r.status() >= 400) failedLoads.add(r.url()); });
page.on('console', (m) => {
  if (m.type() !== 'error') return;
  const url = m.location() && m.location().url;
  if (/^Failed to load resource/.test(m.text()) && url && failedLoads.has(url)) return;
  errors.push(`console error: ${m.text()} (${url || '?'})`);
});

// The speedscope overlay's sandwich table (DOM, unlike the WebGL flame
// graph): waits until it names one of FUNCS; returns that name or null.
async function flameNames(kind) {
  const frame = page.frameLocator('#flame iframe');
  await frame.locator('text=Sandwich').first().waitFor({ timeout: 30000 });
  await page.waitForTimeout(300); // let the first WebGL frame paint for the screenshot
  await page.screenshot({ path: path.join(SHOTS, `flame-${kind}.png`) });
  await frame.locator('text=Sandwich').first().click();
  const f = page.frames().find((x) => x.url().includes('/debug/pprof/ui/'));
  const deadline = Date.now() + 15000;
  let text = '';
  for (;;) {
    text = await f.evaluate(() => document.body.innerText);
    const found = FUNCS.find((fn) => new RegExp(`\\b${fn}\\b`).test(text));
    if (found || Date.now() > deadline) {
      await page.screenshot({ path: path.join(SHOTS, `flame-${kind}-sandwich.png`) });
      if (!found) note(`speedscope shows: ${text.slice(0, 600).replace(/\s+/g, ' ')}`);
      return found || null;
    }
    await page.waitForTimeout(250);
  }
}

async function textOf(sel) { return (await page.locator(sel).first().textContent()) || ''; }
async function valueOf(name) {
  const v = await page.locator(`.stat [data-series="${name}"], .legend [data-series="${name}"]`).first().getAttribute('data-value');
  return v === '' || v == null ? null : Number(v);
}

// 2 (orderd). Values vs /stats. Waits for a sample in which orders flowed.
async function orderdValues() {
  await page.waitForFunction(() => {
    const e = document.querySelector('.legend [data-series="accepted"]');
    return e && Number(e.dataset.value) > 0;
  }, null, { timeout: 20000 });
  const dash = {
    accepted: await valueOf('accepted'),
    processed: await valueOf('processed'),
    acceptedTotal: await valueOf('accepted_total'),
    processedTotal: await valueOf('processed_total'),
    threads: await valueOf('threads'),
    rss: await valueOf('rss'),
    heap: await valueOf('heap'),
    p99: Math.max(...(await Promise.all(['p99_1', 'p99_2', 'p99_3'].map(valueOf))).filter((v) => v != null)),
  };
  const stats = await (await page.request.get(`${BASE}/stats`)).json();
  note(`dashboard ${JSON.stringify(dash)}`);
  note(`/stats accepted=${stats.accepted} processed=${stats.total_processed} p99=${stats.latency_ms.p99}`);
  check(dash.accepted > 0 && dash.accepted < 1000, `accepted/s is plausible: ${dash.accepted}`);
  check(dash.acceptedTotal > 0 && dash.acceptedTotal <= stats.accepted &&
    stats.accepted - dash.acceptedTotal <= 5 * Math.max(dash.accepted, 20),
  `accepted total ${dash.acceptedTotal} matches /stats ${stats.accepted} (at most 5 s behind)`);
  check(dash.processedTotal > 0 && dash.processedTotal <= stats.total_processed &&
    stats.total_processed - dash.processedTotal <= 5 * Math.max(dash.processed, 20),
  `processed total ${dash.processedTotal} matches /stats ${stats.total_processed}`);
  check(dash.threads >= 10, `threads ${dash.threads} >= 10 (workers)`);
  check(dash.rss > 1e6 && dash.heap > 0, `RSS ${dash.rss} and heap ${dash.heap} are non-zero`);
  check(dash.p99 > 0, `a latency p99 is shown: ${dash.p99} ms`);
}

// 2 (lab). Values vs the worker's /metrics: the task total it shows is at
// most a few seconds behind the counters; the header links only what the
// worker serves.
async function labValues() {
  await page.waitForFunction(() => {
    const e = document.querySelector('.legend [data-series="completed"]');
    return e && Number(e.dataset.value) > 0;
  }, null, { timeout: 20000 });
  const dash = {
    completed: await valueOf('completed'),
    completedTotal: await valueOf('completed_total'),
    threads: await valueOf('threads'),
    rss: await valueOf('rss'),
    heap: await valueOf('heap'),
    p99: await valueOf('p99'),
  };
  const metrics = await (await page.request.get(`${BASE}/metrics`)).text();
  let total = 0;
  for (const m of metrics.matchAll(/^worker_(tasks_processed|task_errors)_total\{[^}]*\} (\d+)/gm)) total += Number(m[2]);
  note(`dashboard ${JSON.stringify(dash)}`);
  note(`/metrics tasks processed + errors = ${total}`);
  check(dash.completed > 0, `tasks/s is shown: ${dash.completed}`);
  check(dash.completedTotal > 0 && dash.completedTotal <= total &&
    total - dash.completedTotal <= 5 * Math.max(dash.completed, 20),
  `task total ${dash.completedTotal} matches /metrics ${total} (at most 5 s behind)`);
  check(dash.threads >= 2, `threads ${dash.threads} shown`);
  check(dash.rss > 1e6 && dash.heap > 0, `RSS ${dash.rss} and heap ${dash.heap} are non-zero`);
  check(dash.p99 > 0, `a task-time p99 is shown: ${dash.p99} µs`);
  const nav = await page.$$eval('header nav a', (as) => as.map((a) => `${a.getAttribute('href')}:${a.hidden ? 'hidden' : 'shown'}`));
  check(nav.includes('/stats:hidden') && nav.includes('/health:hidden') && nav.includes('/metrics:shown'),
    `the header hides /stats and /health, shows /metrics: ${nav.join(' ')}`);
}

try {
  // 1. load
  await page.goto(`${BASE}/?cpu_seconds=2&trace_seconds=1`, { waitUntil: 'load' });
  await page.waitForFunction(() => document.body.dataset.state === 'live' && Number(document.body.dataset.points) >= 3, null, { timeout: 20000 });
  const charts = await page.locator('section.chart').count();
  const minCharts = KIND === 'lab' ? 6 : 7;
  check(charts >= minCharts, `dashboard draws ${charts} charts (>= ${minCharts})`);
  check(await page.locator('section.chart canvas').count() >= charts, 'every chart has a canvas');
  const points = await page.$$eval('section.chart', (cs) => cs.map((c) => Number(c.dataset.points)));
  check(points.every((p) => p >= 3), `every chart has >= 3 points: ${points.join(',')}`);
  const program = KIND === 'lab' ? 'worker-' : 'orderd';
  check((await page.title()).includes(program), `title names the program: "${await page.title()}"`);

  if (KIND === 'lab') await labValues();
  else await orderdValues();
  await page.screenshot({ path: path.join(SHOTS, 'dashboard.png'), fullPage: true });

  // 3. the instant profiles: a flame graph or a visible error, never a break.
  for (const kind of ['heap', 'allocs', 'threads', 'mutex', 'block']) {
    await page.click(`button[data-profile="${kind}"]`);
    await page.waitForFunction(() => ['done', 'error'].includes(document.getElementById('profile-status').dataset.state), null, { timeout: 30000 });
    const st = await page.getAttribute('#profile-status', 'data-state');
    const text = await textOf('#profile-status .text');
    if (st === 'done') {
      check(await page.isVisible('#flame iframe'), `${kind}: opened as a flame graph (${text})`);
      const fn = await flameNames(kind);
      // Allocations since start always pass through the program's code.
      // The in-use heap is a few samples (one per 512 KiB on average) that
      // may all be a library's buffers; thread, mutex and block profiles of
      // an idle moment may hold only library frames.
      if (kind === 'allocs') check(!!fn, `${kind}: speedscope names ${A_FUNCTION} (${fn})`);
      else note(`${kind}: ${KIND} function shown: ${fn}`);
      await page.click('.flame-close');
    } else {
      check(/answered \d{3}/.test(text), `${kind}: shows the error text: "${text}"`);
    }
  }

  // 4. CPU profile -> progress -> speedscope with orderd function names.
  // Record every status text (a 501 ends before a poll could see it).
  await page.evaluate(() => {
    const st = document.getElementById('profile-status');
    window.statusLog = [];
    new MutationObserver(() => {
      const bar = st.querySelector('.bar');
      window.statusLog.push({ state: st.dataset.state, text: st.querySelector('.text').textContent, bar: !bar.hidden });
    }).observe(st, { subtree: true, childList: true, characterData: true, attributes: true });
  });
  await page.click('button[data-profile="cpu"]');
  if (await page.waitForSelector('#profile-status[data-state="running"] .bar:not([hidden])', { timeout: 3000 }).catch(() => null)) {
    await page.screenshot({ path: path.join(SHOTS, 'profile-progress.png') });
  }
  await page.waitForFunction(() => ['done', 'error'].includes(document.getElementById('profile-status').dataset.state), null, { timeout: 60000 });
  const cpuState = await page.getAttribute('#profile-status', 'data-state');
  const cpuText = await textOf('#profile-status .text');
  if (check(cpuState === 'done', `CPU profile taken: "${cpuText}"`)) {
    const log = await page.evaluate(() => window.statusLog);
    const left = log.find((e) => e.state === 'running' && e.bar && /\d s left/.test(e.text));
    check(!!left, `a progress bar showed the seconds left: "${left ? left.text : log.map((e) => e.text).join(' | ')}"`);
    const fn = await flameNames('cpu');
    // TSan runs a signal's handler at the thread's next safe point: the
    // stacks of a TSan build are not where the threads were.
    if (process.env.SANITIZE === 'thread') note(`SANITIZE=thread: CPU flame graph function not checked (${fn})`);
    else check(!!fn, `CPU flame graph names ${A_FUNCTION} (${fn})`);
    await page.click('.flame-close');
  }

  // 5. Trace: downloads, with a note on Perfetto.
  const dl = page.waitForEvent('download', { timeout: 60000 }).catch(() => null);
  await page.click('button[data-profile="trace"]');
  await page.waitForFunction(() => ['done', 'error'].includes(document.getElementById('profile-status').dataset.state), null, { timeout: 60000 });
  const trText = await textOf('#profile-status .text');
  if ((await page.getAttribute('#profile-status', 'data-state')) === 'done') {
    const d = await dl;
    check(d && d.suggestedFilename() === 'trace.json', `trace downloaded as ${d && d.suggestedFilename()}`);
    check(/perfetto/i.test(trText), `trace note mentions Perfetto: "${trText}"`);
  } else {
    check(/answered \d{3}/.test(trText), `trace: shows the error text: "${trText}"`);
  }
  await page.screenshot({ path: path.join(SHOTS, 'dashboard-after.png'), fullPage: true });
} catch (e) {
  check(false, `unexpected: ${e.stack || e}`);
  await page.screenshot({ path: path.join(SHOTS, 'failure.png'), fullPage: true }).catch(() => {});
} finally {
  check(errors.length === 0, `no JavaScript or console errors${errors.length ? ':\n     ' + errors.join('\n     ') : ''}`);
  await browser.close();
}
console.log(`dashboard.mjs: ${failures ? failures + ' check(s) failed' : 'all checks passed'}; screenshots in ${SHOTS}`);
process.exit(failures ? 1 : 0);
