/**
 * /dashboard and /docs in a real headless Chromium (Debian's `chromium`, driven by
 * playwright-core) against a server on a calibrated fixture model started with an API key: the
 * dashboard loads without console errors or requests leaving the server, updates after traffic
 * (to the server's own drift tests and estimate), draws a drifted /monitoring answer exactly,
 * asks for the key and then classifies an upload; Swagger UI's "Try it out" -> Execute on
 * POST /predict gets a prediction. Writes
 * ci-artifacts/dashboard.png and docs.png. Skipped, with that reason in its name, only when
 * /usr/bin/chromium is absent and CI is not set.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Browser, chromium, Page } from 'playwright-core';
import request from 'supertest';
import { RunningServer, startServer } from '../src/serve';
import { loadCifar10 } from '../src/data/cifar10';
import { addCalibration } from './helpers/calibrated-model';
import { writeCifar10Binary } from './helpers/drift-fixtures';
import { createModelFixture, CIFAR10_CLASSES } from './helpers/model-fixture';
import { handMadePng } from './helpers/png';

// The callbacks given to page.evaluate run in the page: the few of its globals they use, typed
// here rather than by lib.dom for every test.
interface PageChart {
  data: { labels: string[]; datasets: { data: (number | null)[] }[] };
}
declare const window: { Chart: { getChart(id: string): PageChart } };
declare const document: { body: { dataset: Record<string, string | undefined> }; getElementById(id: string): { textContent: string | null } | null };

/** The parts of GET /monitoring the test compares with the page. */
interface LiveMonitoring {
  drift: { detected: boolean | null; tests: { detected: boolean }[] };
  estimated_accuracy: { value: number };
  history: { estimated_accuracy: number | null }[];
}

const CHROMIUM = '/usr/bin/chromium';
// Under CI (CI=true, as CI services set it) a missing browser is a failure, not a skip.
const inCi = (process.env.CI ?? '') !== '' && process.env.CI !== 'false';
const runs = fs.existsSync(CHROMIUM) || inCi;
const browserTest = runs ? test : test.skip;
const skipNote = runs ? '' : ' (skipped: /usr/bin/chromium is not installed and CI is not set; apt-get install chromium)';
const ARTIFACTS = path.resolve(__dirname, '..', 'ci-artifacts');
const API_KEY = 'workshop-key';
const WINDOW = 50;

function image(seed: number): Buffer {
  return handMadePng(32, 32, 2, new Uint8Array(32 * 32 * 3).map((_, i) => (i * 7 + seed * 31 + ((i >> 5) * seed) % 97) % 256));
}

/** Console errors and uncaught exceptions of a page, and every URL it requested. */
function watch(page: Page): { errors: string[]; urls: string[] } {
  const seen = { errors: [] as string[], urls: [] as string[] };
  page.on('console', (message) => message.type() === 'error' && seen.errors.push(message.text()));
  page.on('pageerror', (error) => seen.errors.push(error.message));
  page.on('request', (req) => seen.urls.push(req.url()));
  return seen;
}

async function refreshesAfter(page: Page, count: number): Promise<void> {
  await page.waitForFunction((n) => Number(document.body.dataset.refreshes) > n, count);
}

const refreshCount = (page: Page) => page.evaluate(() => Number(document.body.dataset.refreshes));

describe('dashboard and Swagger UI in headless Chromium', () => {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mldeploy-dashboard-'));
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let seen: ReturnType<typeof watch>;

  beforeAll(async () => {
    if (!runs) return;
    const modelDir = await createModelFixture(path.join(workDir, 'models'));
    // Train-time calibration, so the monitor runs its drift tests and estimate on this fixture.
    const { test: heldOut } = await loadCifar10({ source: await writeCifar10Binary(path.join(workDir, 'cifar10'), 120), dataDir: path.join(workDir, 'data') });
    await addCalibration(modelDir, heldOut);
    server = await startServer({ modelPath: modelDir, port: 0, host: '127.0.0.1', logDir: path.join(workDir, 'logs'), logLevel: 'silent', apiKey: API_KEY, monitor: { window: WINDOW } });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-background-networking'] });
    page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
    seen = watch(page);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  browserTest(`the dashboard loads with no console errors and every request to this server${skipNote}`, async () => {
    await page.goto(`${server.url}/dashboard?refresh=0.3`);
    await refreshesAfter(page, 1);
    expect(await page.textContent('#model')).toContain(server.version);
    expect(await page.textContent('#window')).toBe(`0 / ${WINDOW}`);
    expect(seen.errors).toEqual([]);
    const foreign = seen.urls.filter((url) => !url.startsWith(`${server.url}/`));
    expect(foreign).toEqual([]);
    expect(seen.urls).toEqual(expect.arrayContaining([`${server.url}/dashboard/chart.umd.js`, `${server.url}/metrics`, `${server.url}/monitoring`]));
  });

  browserTest(`updates after traffic: rate, latency, window, class mix, the drift tests, estimate and history${skipNote}`, async () => {
    const images = Array.from({ length: WINDOW + 10 }, (_, i) => image(i).toString('base64'));
    await request(server.url).post('/predict/batch').set('x-api-key', API_KEY).send({ images: images.slice(0, 30) }).expect(200);
    await request(server.url).post('/predict/batch').set('x-api-key', API_KEY).send({ images: images.slice(30) }).expect(200);
    await page.waitForFunction((w) => document.getElementById('window')!.textContent === `${w} / ${w}`, WINDOW);
    await page.waitForFunction(() => document.getElementById('rate-sub')!.textContent === '2 requests since start');
    // Two batch requests: the traffic chart had a non-zero request rate and a p95 latency.
    await page.waitForFunction(() => {
      const traffic = window.Chart.getChart('traffic-chart').data.datasets;
      return traffic[0].data.some((v) => v !== null && v > 0) && traffic[1].data.some((v) => v !== null && v > 0);
    });
    expect(await page.textContent('#latency')).toMatch(/^\d+(\.\d)? ms$/);
    const classMix = await page.evaluate(() => window.Chart.getChart('class-chart').data.datasets.map((d) => d.data) as number[][]);
    expect(classMix[0]).toHaveLength(10);
    expect(classMix[0].reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    expect(classMix[1].reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    const labels = await page.evaluate(() => window.Chart.getChart('class-chart').data.labels as string[]);
    expect(labels).toEqual(CIFAR10_CLASSES);

    // The drift tests, the estimate and the history as the server computed them (no prediction since).
    const live: LiveMonitoring = (await request(server.url).get('/monitoring').expect(200)).body;
    expect(live.drift.tests.length).toBeGreaterThan(0);
    const flagged = live.drift.tests.filter((t) => t.detected).length;
    await page.waitForFunction((summary) => document.getElementById('tests-summary')!.textContent === summary, `(${flagged} of ${live.drift.tests.length} flag a shift)`);
    expect(await page.$$eval('#tests tr', (trs) => trs.length)).toBe(live.drift.tests.length);
    expect(await page.textContent('#drift')).toBe(live.drift.detected ? 'DRIFT' : 'no drift');
    expect(await page.textContent('#accuracy')).toBe(`${(live.estimated_accuracy.value * 100).toFixed(1)} %`);
    const history = await page.evaluate(() => window.Chart.getChart('history-chart').data.datasets[0].data);
    expect(history).toEqual(live.history.map((h) => h.estimated_accuracy));
    expect(history).toHaveLength(1);
    expect(seen.errors).toEqual([]);
  });

  browserTest(`draws a full /monitoring answer: drift badge, tests table, estimate and history${skipNote}`, async () => {
    // The live answer with a drifted window's verdicts in place of the fixture's "not tested".
    const drifted = {
      drift: {
        detected: true,
        alpha: 0.05,
        p_value: 0.0004,
        reason: null,
        tests: [
          { name: 'chi_square', family: 'softmax', signal: 'predicted_class', statistic: 12.3, p_value: 0.2, corrected_p_value: 1, detected: false },
          { name: 'ks', family: 'input', signal: 'brightness', statistic: 0.41, p_value: 0.00002, corrected_p_value: 0.0004, detected: true },
        ],
      },
      estimated_accuracy: { method: 'atc_mc', value: 0.62, ci_low: 0.55, ci_high: 0.69, confidence_level: 0.95 },
      reference_accuracy: 0.81,
      history: [
        { ended_at: '2026-12-01T21:00:00Z', samples: 50, drift_detected: false, min_p_value: 0.4, estimated_accuracy: 0.8 },
        { ended_at: '2026-12-01T21:01:00Z', samples: 50, drift_detected: true, min_p_value: 0.0004, estimated_accuracy: 0.62 },
      ],
      unavailable: undefined,
    };
    await page.route('**/monitoring', async (route) => route.fulfill({ json: { ...(await (await route.fetch()).json()), ...drifted } }));
    await refreshesAfter(page, await refreshCount(page));
    await page.waitForFunction(() => document.getElementById('drift')!.textContent === 'DRIFT');
    expect(await page.textContent('#accuracy')).toBe('62.0 %');
    expect(await page.textContent('#accuracy-sub')).toBe('CI 55 %-69 % | ref. 81.0 %');
    expect(await page.textContent('#tests-summary')).toBe('(1 of 2 flag a shift)');
    const rows = await page.$$eval('#tests tr', (trs) => trs.map((tr) => [tr.className, ...[...tr.children].map((td) => td.textContent)]));
    // Sorted by p-value, the flagged test first.
    expect(rows).toEqual([
      ['detected', 'ks', 'brightness', '0.410', '2.0e-5', 'shift'],
      ['', 'chi_square', 'predicted_class', '12.300', '0.200', 'ok'],
    ]);
    const history = await page.evaluate(() => window.Chart.getChart('history-chart').data.datasets.map((d) => d.data));
    expect(history).toEqual([[0.8, 0.62], [0.81, 0.81]]);
    expect(seen.errors).toEqual([]);
    // The page keeps polling: a refresh the page aborts mid-handler must not fail a later test.
    await page.unrouteAll({ behavior: 'ignoreErrors' });
  });

  browserTest(`says why when monitoring is off (404) or the model has no calibration (unavailable)${skipNote}`, async () => {
    const other = await browser.newPage();
    const otherSeen = watch(other);
    const off = { error: { code: 'monitoring_disabled', message: 'the server was started with --no-monitor' } };
    await other.route('**/monitoring', (route) => route.fulfill({ status: 404, json: off }));
    await other.goto(`${server.url}/dashboard?refresh=0.3`);
    await other.waitForFunction(() => document.getElementById('drift-sub')!.textContent === 'monitoring is off');
    expect(await other.textContent('#drift')).toBe('not tested');
    expect(await other.textContent('#monitor-note')).toBe('the server was started with --no-monitor');

    const reason = 'calibration: metadata.json has schema_version 1; retrain with this version of "mldeploy train" to add it';
    await other.unroute('**/monitoring');
    await other.route('**/monitoring', async (route) => {
      const live = await (await route.fetch()).json();
      await route.fulfill({ json: { ...live, drift: { ...live.drift, detected: null, tests: [], reason }, estimated_accuracy: null, unavailable: reason } });
    });
    await other.waitForFunction((why) => document.getElementById('monitor-note')!.textContent === why, reason);
    expect(await other.textContent('#drift')).toBe('not tested');
    expect(await other.textContent('#tests')).toBe('no window tested yet');
    expect(await other.textContent('#accuracy')).toBe('-');
    // Chromium's lines for the 404 answers only: no script error.
    expect(otherSeen.errors.filter((e) => !/status of 404/.test(e))).toEqual([]);
    await other.close();
  });

  browserTest(`an upload asks for the API key, then shows the prediction and its probabilities${skipNote}`, async () => {
    const upload = { name: 'probe.png', mimeType: 'image/png', buffer: image(7) };
    await page.setInputFiles('#file', upload);
    await page.waitForSelector('#key-form.shown');
    expect(await page.textContent('#prediction')).toContain('this server needs an API key');
    // The one console error of this page: Chromium's line for the refused upload.
    expect(seen.errors).toEqual([expect.stringMatching(/status of 401/)]);
    await page.fill('#key', API_KEY);
    await page.click('#key-form button');
    const answer = await page.waitForSelector('#predicted-class');
    const [className, confidence] = (await answer.textContent())!.split(' ');
    expect(CIFAR10_CLASSES).toContain(className);
    expect(Number(confidence)).toBeGreaterThan(0);
    const bars = await page.$$eval('#prediction .bar', (els) => els.map((el) => el.textContent));
    expect(bars).toHaveLength(10);
    expect(bars[0]).toMatch(new RegExp(`^${className}`));
    // The upload reached the monitor: one more prediction than the two batches' in the window's count.
    await page.waitForFunction((n) => document.getElementById('window-sub')!.textContent === `${n} predictions monitored`, WINDOW + 11);
    expect(seen.errors).toHaveLength(1);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard.png'), fullPage: true });
  });

  browserTest(`/docs is Swagger UI from this server and "Try it out" -> Execute on /predict succeeds${skipNote}`, async () => {
    const docs = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const docsSeen = watch(docs);
    await docs.goto(`${server.url}/docs`);
    await docs.waitForSelector('.swagger-ui .information-container .title');
    expect(await docs.textContent('.swagger-ui .information-container .title')).toContain('mldeploy inference API');

    await docs.click('.swagger-ui .auth-wrapper .authorize');
    await docs.fill('.modal-ux input[type=text], .modal-ux input[type=password]', API_KEY);
    await docs.click('.modal-ux .auth-btn-wrapper button.authorize');
    await docs.click('.modal-ux .btn-done');

    const operation = docs.locator('#operations-workshop-post_predict');
    await operation.locator('.opblock-summary').click();
    await operation.locator('button.try-out__btn').click();
    await operation.locator('button.execute').click();
    const status = operation.locator('.live-responses-table .response .response-col_status').first();
    await status.waitFor();
    expect((await status.textContent())!.trim()).toBe('200');
    const body = JSON.parse((await operation.locator('.live-responses-table .response-col_description pre').first().textContent())!);
    expect(CIFAR10_CLASSES).toContain(body.predicted_class);
    expect(body.model_version).toBe(server.version);
    expect(docsSeen.urls.filter((url) => !url.startsWith(`${server.url}/`))).toEqual([]);
    expect(docsSeen.errors).toEqual([]);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await docs.screenshot({ path: path.join(ARTIFACTS, 'docs.png'), fullPage: true });
    await docs.close();
  });
});
