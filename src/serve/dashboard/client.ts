/**
 * The dashboard's browser script (GET /dashboard/dashboard.js). Every `refresh` seconds (query
 * parameter, default 5) it reads /metrics (prom-client text: request rate, p50/p95 latency and
 * 5xx share of the prediction routes between two reads), /monitoring (drift tests, estimate,
 * class mix, confidence histogram, history) and /model-info, and redraws with chart.js. The
 * upload box (upload-client.ts) posts to /predict-file. Plain browser JavaScript (no build step),
 * kept as strings so it ships inside dist/; both parts run in one function scope.
 */
import { UPLOAD_SCRIPT } from './upload-client';

const MONITOR_SCRIPT = String.raw`
  const params = new URLSearchParams(location.search);
  const REFRESH_MS = Math.max(250, Number(params.get('refresh') || 5) * 1000);
  const PREDICTION_ROUTES = new Set(['predict', 'predict-file', 'predict-batch', 'tfserving-predict']);
  const TRAFFIC_POINTS = 60;
  const COLORS = { current: '#2563eb', reference: '#94a3b8', ok: '#15803d', bad: '#b91c1c', latency: '#b45309' };
  const $ = (id) => document.getElementById(id);
  const pct = (x, digits) => (x === null || x === undefined || !Number.isFinite(x) ? '-' : (x * 100).toFixed(digits === undefined ? 1 : digits) + ' %');
  const fixed = (x, digits) => (x === null || x === undefined || !Number.isFinite(x) ? '-' : Number(x).toFixed(digits));
  const clock = (date) => date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
  const text = (id, value) => { $(id).textContent = value; };

  // ---- /metrics: prom-client text -> prediction traffic between two reads ----
  function parseMetrics(body) {
    const samples = [];
    for (const line of body.split('\n')) {
      if (!line || line[0] === '#') continue;
      const m = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
      if (!m) continue;
      const labels = {};
      for (const l of (m[2] || '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
      samples.push({ name: m[1], labels, value: Number(m[3]) });
    }
    return samples;
  }

  function trafficTotals(samples) {
    const totals = { at: performance.now(), requests: 0, errors: 0, buckets: new Map() };
    for (const s of samples) {
      if (!PREDICTION_ROUTES.has(s.labels.route)) continue;
      if (s.name === 'mldeploy_http_requests_total') {
        totals.requests += s.value;
        if (Number(s.labels.status) >= 500) totals.errors += s.value;
      } else if (s.name === 'mldeploy_http_request_duration_seconds_bucket') {
        const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
        totals.buckets.set(le, (totals.buckets.get(le) || 0) + s.value);
      }
    }
    return totals;
  }

  /** Prometheus's histogram_quantile: linear interpolation inside the bucket holding the rank. */
  function quantile(q, cumulative) {
    const total = cumulative.length ? cumulative[cumulative.length - 1][1] : 0;
    if (!(total > 0)) return null;
    const rank = q * total;
    let lower = 0;
    let below = 0;
    for (const [le, count] of cumulative) {
      if (count >= rank) return le === Infinity ? lower : lower + (le - lower) * ((rank - below) / Math.max(count - below, 1e-12));
      lower = le;
      below = count;
    }
    return lower;
  }

  function trafficBetween(before, after) {
    const seconds = Math.max((after.at - before.at) / 1000, 1e-3);
    const les = [...after.buckets.keys()].sort((a, b) => a - b);
    // A restarted server resets its counters: never a negative rate.
    const cumulative = les.map((le) => [le, Math.max(0, after.buckets.get(le) - (before.buckets.get(le) || 0))]);
    const requests = Math.max(0, after.requests - before.requests);
    const p95 = quantile(0.95, cumulative);
    const p50 = quantile(0.5, cumulative);
    return { rate: requests / seconds, requests, errors: Math.max(0, after.errors - before.errors), p50: p50 === null ? null : p50 * 1000, p95: p95 === null ? null : p95 * 1000 };
  }

  // ---- charts ----
  Chart.defaults.animation = false;
  Chart.defaults.font.size = 16;
  Chart.defaults.color = '#334155';
  Chart.defaults.maintainAspectRatio = false;
  const barSet = (label, color) => ({ label, data: [], backgroundColor: color, borderRadius: 3 });
  const timeAxis = { ticks: { maxRotation: 0, autoSkipPadding: 24 } };
  const shareAxis = { beginAtZero: true, ticks: { callback: (v) => Math.round(v * 100) + ' %' } };
  const trafficChart = new Chart($('traffic-chart'), {
    type: 'line',
    data: { labels: [], datasets: [
      { label: 'requests / s', data: [], yAxisID: 'rate', borderColor: COLORS.current, backgroundColor: COLORS.current, borderWidth: 3, pointRadius: 0, tension: 0 },
      { label: 'p95 latency (ms)', data: [], yAxisID: 'latency', borderColor: COLORS.latency, backgroundColor: COLORS.latency, borderWidth: 3, pointRadius: 4, tension: 0, spanGaps: true },
    ] },
    options: { scales: {
      x: timeAxis,
      rate: { position: 'left', beginAtZero: true, title: { display: true, text: 'req/s' } },
      latency: { position: 'right', beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: 'ms' } },
    } },
  });
  const historyChart = new Chart($('history-chart'), {
    type: 'line',
    data: { labels: [], datasets: [
      { label: 'estimated accuracy', data: [], borderColor: COLORS.current, backgroundColor: COLORS.current, borderWidth: 3, pointRadius: 6, pointBackgroundColor: [], spanGaps: true },
      { label: 'reference (test set)', data: [], borderColor: COLORS.reference, borderDash: [8, 6], borderWidth: 2, pointRadius: 0 },
    ] },
    options: { scales: { x: timeAxis, y: { min: 0, max: 1, ticks: { callback: (v) => Math.round(v * 100) + ' %' } } } },
  });
  const classChart = new Chart($('class-chart'), {
    type: 'bar',
    data: { labels: [], datasets: [barSet('current window', COLORS.current), barSet('reference', COLORS.reference)] },
    options: { scales: { y: shareAxis } },
  });
  const confidenceChart = new Chart($('confidence-chart'), {
    type: 'bar',
    data: { labels: [], datasets: [barSet('current window', COLORS.current), barSet('reference', COLORS.reference)] },
    options: { scales: { y: shareAxis, x: { title: { display: true, text: 'top-class probability' } } } },
  });

  // ---- traffic ----
  let lastTotals = null;
  const traffic = [];
  async function refreshTraffic() {
    const res = await fetch('metrics', { cache: 'no-store' });
    if (!res.ok) throw new Error('/metrics answered HTTP ' + res.status);
    const totals = trafficTotals(parseMetrics(await res.text()));
    if (lastTotals) {
      traffic.push({ time: clock(new Date()), ...trafficBetween(lastTotals, totals) });
      if (traffic.length > TRAFFIC_POINTS) traffic.shift();
    }
    lastTotals = totals;
    trafficChart.data.labels = traffic.map((t) => t.time);
    trafficChart.data.datasets[0].data = traffic.map((t) => t.rate);
    trafficChart.data.datasets[1].data = traffic.map((t) => t.p95);
    trafficChart.update();
    // The headline rate averages the last few reads so it does not flicker to 0 between bursts.
    const recent = traffic.slice(-3);
    const rate = recent.length ? recent.reduce((n, t) => n + t.rate, 0) / recent.length : null;
    const measured = [...traffic].reverse().find((t) => t.p95 !== null);
    const requests = traffic.reduce((n, t) => n + t.requests, 0);
    const errors = traffic.reduce((n, t) => n + t.errors, 0);
    const span = traffic.length ? Math.round((traffic.length * REFRESH_MS) / 60000) || 1 : 0;
    text('rate', rate === null ? '-' : fixed(rate, rate < 10 ? 2 : 0));
    text('rate-sub', totals.requests + ' requests since start');
    text('latency', measured ? fixed(measured.p95, measured.p95 < 10 ? 1 : 0) + ' ms' : '-');
    text('latency-sub', measured ? 'p50 ' + fixed(measured.p50, 1) + ' ms' : 'no prediction requests yet');
    text('errors', requests ? pct(errors / requests) : '-');
    text('errors-sub', requests ? errors + ' of ' + requests + ', last ' + span + ' min' : 'no prediction requests yet');
  }

  // ---- /monitoring ----
  function setDrift(detected, sub) {
    const badge = $('drift');
    badge.className = 'status' + (detected === true ? ' bad' : detected === false ? ' ok' : '');
    badge.textContent = detected === true ? 'DRIFT' : detected === false ? 'no drift' : 'not tested';
    text('drift-sub', sub);
  }

  function renderTests(tests) {
    const body = $('tests');
    body.replaceChildren();
    const flagged = tests.filter((t) => t.detected).length;
    text('tests-summary', tests.length ? '(' + flagged + ' of ' + tests.length + ' flag a shift)' : '');
    if (!tests.length) {
      const row = body.insertRow();
      const cell = row.insertCell();
      cell.colSpan = 5;
      cell.className = 'empty';
      cell.textContent = 'no window tested yet';
      return;
    }
    // Most significant first: what shifted is at the top of the box.
    for (const t of [...tests].sort((a, b) => a.p_value - b.p_value)) {
      const row = body.insertRow();
      if (t.detected) row.className = 'detected';
      const cells = [t.name, t.signal, fixed(t.statistic, 3), t.p_value < 0.001 ? Number(t.p_value).toExponential(1) : fixed(t.p_value, 3), t.detected ? 'shift' : 'ok'];
      cells.forEach((value, i) => {
        const cell = row.insertCell();
        cell.textContent = value;
        if (i === 2 || i === 3) cell.className = 'num';
      });
    }
  }

  function renderMonitoring(m) {
    const drift = m.drift || {};
    const tests = Array.isArray(drift.tests) ? drift.tests : [];
    const why = m.unavailable || drift.reason || '';
    setDrift(drift.detected === undefined ? null : drift.detected,
      drift.detected === null || drift.detected === undefined ? (why ? 'see note below' : 'waiting for a full window') : 'alpha ' + drift.alpha + ' | ' + tests.length + ' tests');
    renderTests(tests);
    const estimate = m.estimated_accuracy;
    text('accuracy', estimate ? pct(estimate.value) : '-');
    text('accuracy-sub', (estimate ? 'CI ' + pct(estimate.ci_low, 0) + '-' + pct(estimate.ci_high, 0) + ' | ' : '') + 'ref. ' + pct(m.reference_accuracy));
    const win = m.window || {};
    text('window', (win.samples ?? '-') + ' / ' + (win.size ?? '-'));
    text('window-sub', win.total !== undefined ? win.total + ' predictions monitored' : '');
    text('monitor-note', why);

    const classes = m.class_distribution || {};
    const current = classes.current || [];
    classChart.data.labels = m.class_names || current.map((_, i) => 'class ' + i);
    classChart.data.datasets[0].data = current;
    classChart.data.datasets[1].data = classes.reference || [];
    classChart.update();

    const confidence = m.confidence_histogram || {};
    const edges = confidence.bin_edges || [];
    confidenceChart.data.labels = edges.slice(0, -1).map((e) => fixed(e, 2));
    confidenceChart.data.datasets[0].data = confidence.current || [];
    confidenceChart.data.datasets[1].data = confidence.reference || [];
    confidenceChart.update();

    const history = Array.isArray(m.history) ? m.history : [];
    historyChart.data.labels = history.map((h) => clock(new Date(h.ended_at)));
    historyChart.data.datasets[0].data = history.map((h) => h.estimated_accuracy);
    historyChart.data.datasets[0].pointBackgroundColor = history.map((h) => (h.drift_detected ? COLORS.bad : COLORS.current));
    historyChart.data.datasets[1].data = history.map(() => m.reference_accuracy ?? null);
    historyChart.update();
  }

  async function refreshMonitoring() {
    const res = await fetch('monitoring', { cache: 'no-store' });
    if (res.ok) return renderMonitoring(await res.json());
    const body = await res.json().catch(() => null);
    setDrift(null, res.status === 404 ? 'monitoring is off' : 'HTTP ' + res.status);
    text('monitor-note', (body && body.error && body.error.message) || 'GET /monitoring answered HTTP ' + res.status);
  }

  async function refreshModel() {
    const res = await fetch('model-info', { cache: 'no-store' });
    if (!res.ok) return;
    const info = await res.json();
    text('model', [info.model_name, info.version, info.model_type, info.engine].filter(Boolean).join(' | '));
  }

  let refreshes = 0;
  async function refresh() {
    const results = await Promise.allSettled([refreshTraffic(), refreshMonitoring(), refreshModel()]);
    const failed = results.find((r) => r.status === 'rejected');
    text('updated', failed ? 'server unreachable at ' + clock(new Date()) : 'updated ' + clock(new Date()));
    document.body.dataset.refreshes = String(++refreshes);
  }
  async function loop() {
    await refresh();
    setTimeout(loop, REFRESH_MS);
  }
`;

export const DASHBOARD_SCRIPT = "'use strict';\n(() => {" + MONITOR_SCRIPT + UPLOAD_SCRIPT + '\n  loop();\n})();\n';
