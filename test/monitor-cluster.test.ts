/**
 * Cluster aggregation: `serve --workers 2` gives the same /monitoring numbers as one process
 * for the same predictions (the primary's window holds every worker's), and its gauges once.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { MonitoringReport } from '../src/monitor/live';
import { encodePng } from '../src/preprocess';
import { createMonitoredModelFixture } from './helpers/monitor-model';
import { syntheticImages } from './helpers/model-fixture';
import { ServeChild, startServe, until } from './helpers/serve-cli';

const PIXELS = 32 * 32 * 3;
const IMAGES = 80;

describe('monitoring in cluster mode', () => {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mldeploy-monitor-cluster-'));
  const servers: Array<ServeChild & { url: string }> = [];

  afterAll(async () => {
    for (const s of servers) {
      s.child.kill('SIGTERM');
      await s.exited;
    }
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  it('gives the numbers one worker gives, with the gauges exported once', async () => {
    const modelDir = await createMonitoredModelFixture(path.join(workDir, 'models'), 5);
    const serve = (workers: number) =>
      startServe(['--model', modelDir, '--workers', String(workers), '--monitor-window', '100', '--log-dir', path.join(workDir, `logs-${workers}`), '--backend', 'cpu']);
    const [single, cluster] = await Promise.all([serve(1), serve(2)]);
    servers.push(single, cluster);

    const pixels = syntheticImages(IMAGES, 31);
    const images = await Promise.all(Array.from({ length: IMAGES }, (_, i) => encodePng(pixels.subarray(i * PIXELS, (i + 1) * PIXELS))));
    const post = (url: string, png: Buffer) =>
      fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ image_base64: png.toString('base64') }) }).then((r) => {
        if (r.status !== 200) throw new Error(`predict answered ${r.status}`);
      });
    // Several requests in flight, so both workers answer some.
    for (let i = 0; i < IMAGES; i += 8) await Promise.all(images.slice(i, i + 8).flatMap((png) => [post(single.url, png), post(cluster.url, png)]));

    const monitoring = async (url: string) => (await (await fetch(`${url}/monitoring`)).json()) as MonitoringReport;
    let clustered: MonitoringReport | undefined;
    const poll = setInterval(() => void monitoring(cluster.url).then((body) => (clustered = body)), 50);
    try {
      await until(() => clustered?.window?.samples === IMAGES, 'the primary to receive every prediction line');
    } finally {
      clearInterval(poll);
    }
    const alone = await monitoring(single.url);
    const both = clustered;
    if (!both?.estimated_accuracy || !alone.estimated_accuracy) throw new Error('both windows should be tested');
    expect(alone.window.samples).toBe(IMAGES);
    expect(both.model_version).toBe(alone.model_version);
    expect(both.drift.detected).toBe(alone.drift.detected);
    expect(both.drift.tests).toHaveLength(alone.drift.tests.length);
    alone.drift.tests.forEach((t, i) => {
      const c = both.drift.tests[i];
      expect(c.signal).toBe(t.signal);
      expect(c.statistic).toBeCloseTo(t.statistic, 12);
      expect(c.p_value).toBeCloseTo(t.p_value, 12);
    });
    expect(both.estimated_accuracy.value).toBeCloseTo(alone.estimated_accuracy.value, 12);
    expect(both.estimated_accuracy.ci_low).toBeCloseTo(alone.estimated_accuracy.ci_low, 12);
    both.class_distribution.current.forEach((share, k) => expect(share).toBeCloseTo(alone.class_distribution.current[k], 12));
    expect(both.confidence_histogram.current).toEqual(alone.confidence_histogram.current);

    const metrics = await (await fetch(`${cluster.url}/metrics`)).text();
    const windowLines = metrics.split('\n').filter((line) => line.startsWith('mldeploy_monitor_window_samples{'));
    expect(windowLines).toEqual([`mldeploy_monitor_window_samples{model_version="${alone.model_version}"} ${IMAGES}`]);
  });
});
