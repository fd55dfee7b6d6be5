/**
 * GET /dashboard: the markup and styles of the live monitoring page, sized for a projector
 * (large type, high contrast, light background). The behaviour is dashboard/dashboard.js
 * (client.ts); charts are chart.js's UMD build served from node_modules.
 */
const STYLES = `
:root{--ink:#0f172a;--muted:#475569;--line:#cbd5e1;--card:#fff;--bg:#eef2f7;--current:#2563eb;--reference:#94a3b8;--ok:#15803d;--bad:#b91c1c;--warn:#b45309}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:18px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
header{display:flex;align-items:center;gap:24px;padding:14px 28px;background:var(--ink);color:#fff}
header h1{margin:0;font-size:28px;font-weight:700;letter-spacing:.01em}
header .model{font-size:20px;color:#cbd5e1}
header .spacer{flex:1}
header .updated{font-size:16px;color:#cbd5e1}
header button{font:inherit;font-size:16px;padding:6px 14px;border-radius:8px;border:1px solid #64748b;background:transparent;color:#fff;cursor:pointer}
main{padding:16px 24px 24px;display:grid;gap:16px;grid-template-columns:repeat(2,minmax(0,1fr))}
.kpis{grid-column:1/-1;display:grid;gap:16px;grid-template-columns:repeat(6,minmax(0,1fr))}
.card{background:var(--card);border-radius:14px;padding:16px 20px;box-shadow:0 1px 3px rgba(15,23,42,.12)}
.card h2 .count{text-transform:none;letter-spacing:0;font-weight:400}
.card h2{margin:0 0 10px;font-size:19px;font-weight:600;color:var(--muted);text-transform:uppercase;letter-spacing:.04em}
.kpi .value{font-size:42px;font-weight:700;line-height:1.1;font-variant-numeric:tabular-nums}
.kpi .sub{font-size:16px;color:var(--muted);margin-top:4px;min-height:1.4em}
.chart{position:relative;height:280px}
.status{display:inline-block;padding:2px 14px;border-radius:999px;font-size:32px;font-weight:700;color:#fff;background:var(--reference)}
.status.ok{background:var(--ok)}.status.bad{background:var(--bad)}
.note{color:var(--warn);font-size:16px;margin:6px 0 0}
table{width:100%;border-collapse:collapse;font-variant-numeric:tabular-nums}
.table-box{height:280px;overflow-y:auto}
th,td{text-align:left;padding:4px 10px;border-bottom:1px solid var(--line);font-size:17px;white-space:nowrap}
thead th{position:sticky;top:0;background:var(--card)}
th{color:var(--muted);font-weight:600;font-size:16px}
td.num{text-align:right}th.num{text-align:right}
tr.detected td{color:var(--bad);font-weight:700}
.empty{color:var(--muted);font-style:italic}
#drop{display:block;border:3px dashed var(--line);border-radius:12px;padding:12px;text-align:center;cursor:pointer;color:var(--muted)}
#drop.over{border-color:var(--current);color:var(--current)}
#drop input{display:none}
.result{margin-top:10px}
.result .head{display:flex;gap:16px;align-items:center}
.result img{width:76px;height:76px;object-fit:contain;image-rendering:pixelated;border-radius:8px;background:#e2e8f0}
.result .answer{font-size:30px;font-weight:700}
.bar-list{margin-top:8px}
.bar{display:grid;grid-template-columns:110px 1fr 64px;gap:10px;align-items:center;font-size:15px;line-height:1.2;margin:1px 0}
.bar .track{background:#e2e8f0;border-radius:6px;height:13px;overflow:hidden}
.bar .fill{background:var(--current);height:100%}
.bar.top .fill{background:var(--ok)}
.bar .pct{text-align:right;font-variant-numeric:tabular-nums}
.error{color:var(--bad);font-weight:600}
#key-form{display:none;gap:10px;align-items:center;margin-top:10px}
#key-form.shown{display:flex}
#key-form input{font:inherit;padding:6px 10px;border:1px solid var(--line);border-radius:8px;flex:1}
#key-form button{font:inherit;padding:6px 14px;border-radius:8px;border:0;background:var(--current);color:#fff;cursor:pointer}
@media (min-width:1600px){main{grid-template-columns:repeat(3,minmax(0,1fr))}}
@media (max-width:1100px){main{grid-template-columns:1fr}.kpis{grid-template-columns:repeat(3,minmax(0,1fr))}}
`;

const KPI = (id: string, title: string) =>
  `<section class="card kpi"><h2>${title}</h2><div class="value" id="${id}">-</div><div class="sub" id="${id}-sub"></div></section>`;

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mldeploy - live model health</title>
<link rel="icon" href="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Crect width='16' height='16' rx='3' fill='%232563eb'/%3E%3C/svg%3E">
<style>${STYLES}</style>
</head>
<body>
<header>
  <h1>mldeploy &middot; live model health</h1>
  <span class="model" id="model">connecting...</span>
  <span class="spacer"></span>
  <span class="updated" id="updated"></span>
  <button type="button" id="key-button">API key</button>
</header>
<main>
  <div class="kpis">
    ${KPI('rate', 'Requests / s')}
    ${KPI('latency', 'Latency p95')}
    ${KPI('errors', 'Errors (5xx)')}
    <section class="card kpi"><h2>Drift</h2><div class="value"><span class="status" id="drift">-</span></div><div class="sub" id="drift-sub"></div></section>
    ${KPI('accuracy', 'Est. accuracy')}
    ${KPI('window', 'Window')}
  </div>
  <section class="card"><h2>Prediction traffic</h2><div class="chart"><canvas id="traffic-chart" aria-label="requests per second and p95 latency"></canvas></div></section>
  <section class="card"><h2>Estimated accuracy per window <span class="count">(red: drift)</span></h2><div class="chart"><canvas id="history-chart" aria-label="estimated accuracy over time"></canvas></div><p class="note" id="monitor-note"></p></section>
  <section class="card"><h2>Drift tests <span id="tests-summary" class="count"></span></h2>
    <div class="table-box"><table><thead><tr><th>Test</th><th>Signal</th><th class="num">Statistic</th><th class="num">p-value</th><th>Result</th></tr></thead>
    <tbody id="tests"><tr><td colspan="5" class="empty">no window tested yet</td></tr></tbody></table></div>
  </section>
  <section class="card"><h2>Class mix: current window vs reference</h2><div class="chart"><canvas id="class-chart" aria-label="class distribution"></canvas></div></section>
  <section class="card"><h2>Confidence: current window vs reference</h2><div class="chart"><canvas id="confidence-chart" aria-label="confidence histogram"></canvas></div></section>
  <section class="card"><h2>Classify an image</h2>
    <label id="drop">Drop an image here, or click to choose one<input type="file" id="file" accept="image/*"></label>
    <form id="key-form"><span>API key</span><input type="password" id="key" autocomplete="off" placeholder="this server needs --api-key's value"><button type="submit">Use key</button></form>
    <div id="prediction"></div>
  </section>
</main>
<script src="dashboard/chart.umd.js"></script>
<script src="dashboard/dashboard.js"></script>
</body>
</html>
`;
