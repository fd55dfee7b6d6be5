import { DriftResult, parseDriftResult } from '../src/drift/result';
import { driftChartConfigs, renderDriftChart } from '../src/report/drift-chart';
import { renderDriftHtml } from '../src/report/drift-html';
import { formatPValue, renderDriftText } from '../src/report/drift-text';
import { driftOf, HISTOGRAM_EDGES, scenarioResult } from './helpers/drift-results';

const CLASSES = ['cat', 'dog'];
const EDGES = HISTOGRAM_EDGES;
const scenario = scenarioResult;

/** A fixed result: clean (the reference), a drifting noisy scenario, an unlabelled one with a failure. */
function fixedResult(): DriftResult {
  return {
    schema_version: 1,
    generated_at: '2026-01-02T03:04:05.000Z',
    target: { url: 'http://127.0.0.1:8000', mode: 'url', model_version: 'v3_2026_01_01', model_type: 'SimpleCNN', class_names: CLASSES },
    config: { samples: 4, seed: 42, concurrency: 16, timeout_ms: 10000, retries: 2, psi_bins: 10, min_success_rate: 0, deadline_s: null, alpha: null },
    reference: {
      kind: 'baseline',
      scenario: 'clean',
      samples: 4,
      confidence_histogram: { bin_edges: EDGES, counts: [0, 0, 1, 1, 2], fractions: [0, 0, 0.25, 0.25, 0.5] },
      class_distribution: { cat: 0.5, dog: 0.5 },
      detector_samples: 0,
      missing: [],
    },
    scenarios: [
      scenario('clean', { recommendations: ['no action needed'] }),
      scenario('noisy', {
        accuracy: 0.25,
        accuracy_drop: 0.5,
        mean_confidence: 0.45,
        confidence_histogram: { bin_edges: EDGES, counts: [0, 3, 1, 0, 0], fractions: [0, 0.75, 0.25, 0, 0] },
        drift: driftOf({
          psi: { confidence: 1.234, class: 0.05, brightness: 0.01, noise: 4.5678 },
          psi_max: 4.5678,
          psi_max_signal: 'noise',
          verdict: 'significant',
          ks: {
            confidence: { statistic: 0.75, p_value: 0.0286 },
            brightness: { statistic: 0.25, p_value: 1 },
            noise: { statistic: 1, p_value: 0.0000123 },
          },
          chi2: { statistic: 3.5, p_value: 0.061, dof: 1 },
        }),
        recommendations: ['investigate input quality <noise>'],
      }),
      scenario('cifar100', {
        labelled: false,
        accuracy: null,
        success_rate: 0.75,
        requests: { succeeded: 3, failed: 1, retries: 2, errors: { http_500: 1 }, unsent: 0 },
        predictions: ['cat', null, 'dog', 'dog'],
        true_labels: null,
        confidences: [0.6, null, 0.5, 0.55],
        drift: driftOf({
          psi: { confidence: 0.15, class: 0.12, brightness: 0.02, noise: 0.03 },
          psi_max: 0.15,
          psi_max_signal: 'confidence',
          verdict: 'moderate',
          ks: {
            confidence: { statistic: 0.5, p_value: 0.5 },
            brightness: { statistic: 0.25, p_value: 1 },
            noise: { statistic: 0.25, p_value: 1 },
          },
          chi2: { statistic: 0.4, p_value: 0.53, dof: 1 },
        }),
        recommendations: ['monitor'],
      }),
    ],
    gate: {
      rules: ['psi>0.2', 'cifar100:success_rate<0.9'],
      passed: false,
      failures: [
        { rule: 'psi>0.2', scenario: 'noisy', value: 4.5678 },
        { rule: 'cifar100:success_rate<0.9', scenario: 'cifar100', value: 0.75 },
      ],
      skipped: [],
    },
    duration_s: 1.5,
    complete: true,
    incomplete_reason: null,
  };
}

describe('drift result schema', () => {
  it('accepts the fixed result and rejects a wrong schema_version', () => {
    expect(parseDriftResult(JSON.parse(JSON.stringify(fixedResult())))).toEqual(fixedResult());
    expect(() => parseDriftResult({ ...fixedResult(), schema_version: 3 })).toThrow(/schema_version/);
    const broken = fixedResult() as unknown as { scenarios: { latency_ms: unknown }[] };
    broken.scenarios[1].latency_ms = { p50: 'fast' };
    expect(() => parseDriftResult(broken)).toThrow(/scenarios\.1\.latency_ms\.p50/);
  });
});

describe('drift result schema, older files', () => {
  it('reads a file written before complete, unsent and the fail-closed settings existed', () => {
    const old = JSON.parse(JSON.stringify(fixedResult()));
    delete old.complete;
    delete old.incomplete_reason;
    delete old.config.min_success_rate;
    delete old.config.deadline_s;
    for (const s of old.scenarios) delete s.requests.unsent;
    const parsed = parseDriftResult(old);
    expect(parsed).toMatchObject({ complete: true, incomplete_reason: null, config: { min_success_rate: 0, deadline_s: null } });
    expect(parsed.scenarios.map((s) => s.requests.unsent)).toEqual([0, 0, 0]);
  });
});

describe('drift_report.txt', () => {
  const text = renderDriftText(fixedResult());

  it('has one table row per scenario with its figures and verdict', () => {
    const rows = text.split('\n');
    const noisy = rows.find((line) => line.startsWith('noisy '))!;
    expect(noisy.split(/\s+/)).toEqual(['noisy', '4', '25.0%', 'n/a', '0.450', '100.0%', '0', '4.3', '9.5', '12.0', '812', '4.568', 'n/a', 'significant']);
    const cifar = rows.find((line) => line.startsWith('cifar100 '))!;
    expect(cifar.split(/\s+/)).toEqual(['cifar100', '4', 'n/a', 'n/a', '0.800', '75.0%', '1', '4.3', '9.5', '12.0', '812', '0.150', 'n/a', 'moderate']);
    expect(rows.find((line) => line.startsWith('clean '))).toMatch(/reference$/);
  });

  it('explains each verdict with the figures behind it', () => {
    expect(text).toContain(
      'noisy: significant drift: PSI max 4.568 (noise); PSI confidence 1.234, class 0.050; KS confidence D=0.750 p=0.029; ' +
        'chi-square 3.5 (dof 1) p=0.061; accuracy 25.0% (-50.0 pts vs reference)',
    );
    expect(text).toContain('cifar100: moderate drift: PSI max 0.150 (confidence)');
    expect(text).toContain('cifar100: 1 failed requests (http_500 x1)');
    expect(text).toContain('reference:  the clean replay of this run (4 images)');
  });

  it('names every failed rule, scenario and value, and the recommendations', () => {
    expect(text).toContain('FAILED: rule psi>0.2 failed on scenario noisy: value 4.568');
    expect(text).toContain('FAILED: rule cifar100:success_rate<0.9 failed on scenario cifar100: value 0.7500');
    expect(text).toContain('result: FAILED, 2 violation(s) (exit 1)');
    expect(text).toContain('  - noisy: investigate input quality <noise>');
  });

  it('lists rule checks skipped for want of a value', () => {
    const result = fixedResult();
    result.gate.skipped = [{ rule: 'accuracy<0.5', scenario: 'cifar100', metric: 'accuracy', reason: 'no labels, so no accuracy' }];
    expect(renderDriftText(result)).toContain('skipped: accuracy<0.5 on cifar100 (no labels, so no accuracy)');
  });

  it('says when nothing was gated', () => {
    const result = fixedResult();
    result.gate = { rules: [], passed: true, failures: [], skipped: [] };
    expect(renderDriftText(result)).toContain('no rules given: nothing gated (exit 0)');
  });

  it('formats p-values across magnitudes', () => {
    expect(formatPValue(0.5)).toBe('0.500');
    expect(formatPValue(0.0000123)).toBe('1.2e-5');
    expect(formatPValue(0)).toBe('<1e-300');
  });
});

describe('drift_analysis.png', () => {
  it('draws the four summary panels plus one confidence histogram per compared scenario', () => {
    const configs = driftChartConfigs(fixedResult());
    expect(configs).toHaveLength(6);
    const accuracy = configs[0].data.datasets[0].data;
    expect(accuracy).toEqual([75, 25, null]);
    const latency = configs[3].data.datasets.map((d) => d.label);
    expect(latency).toEqual(['p50', 'p95', 'p99']);
    const noisyHistogram = configs[4].data.datasets;
    expect(noisyHistogram.map((d) => d.label)).toEqual(['noisy', 'clean (baseline)']);
    expect(noisyHistogram[0].data).toEqual([0, 75, 25, 0, 0]);
    expect(noisyHistogram[1].data).toEqual([0, 0, 25, 25, 50]);
  });

  it('renders a PNG grid of two columns', () => {
    const png = renderDriftChart(fixedResult());
    expect(png.subarray(1, 4).toString('ascii')).toBe('PNG');
    expect(png.readUInt32BE(16)).toBe(2 * 640);
    expect(png.readUInt32BE(20)).toBe(3 * 400);
  });
});

describe('drift_report.html', () => {
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47]);
  const html = renderDriftHtml(fixedResult(), png);

  it('is self-contained: the chart is a data: URL and nothing is fetched', () => {
    expect(html).toContain(`src="data:image/png;base64,${png.toString('base64')}"`);
    expect(html).not.toMatch(/<script|<link|src="http/);
  });

  it('shows the table, verdicts, gate failures, and escapes text', () => {
    expect(html).toContain('<td>noisy</td><td>4</td><td>25.0%</td>');
    expect(html).toContain('<span class="badge significant">significant</span>');
    expect(html).toContain('rule psi&gt;0.2 failed on scenario noisy: value 4.568');
    expect(html).toContain('investigate input quality &lt;noise&gt;');
    expect(html).toContain('<span class="badge significant">FAILED</span>');
  });
});

describe('the calibrated parts of the reports', () => {
  /** fixedResult with the detector's decision on noisy and cifar100, and estimates on every scenario. */
  function calibratedResult(): DriftResult {
    const result = fixedResult();
    result.config.alpha = 0.05;
    result.reference.detector_samples = 5000;
    const estimate = (value: number) => ({
      method: 'atc_mc', value, ci_low: value - 0.1, ci_high: value + 0.1, n: 4, confidence_level: 0.95,
      methods: { average_confidence: { value: value + 0.05, ci_low: 0, ci_high: 1 }, atc_mc: { value, ci_low: value - 0.1, ci_high: value + 0.1 } },
    });
    const test = (name: string, corrected: number, detected: boolean) => ({
      name, family: 'input' as const, signal: name, statistic: 0.5, p_value: corrected / 3, corrected_p_value: corrected, detected,
    });
    const [clean, noisy, cifar100] = result.scenarios;
    Object.assign(clean, { estimated_accuracy: estimate(0.7) });
    Object.assign(noisy, { estimated_accuracy: estimate(0.3) });
    Object.assign(noisy.drift!, { detected: true, alpha: 0.05, detector: 'default', p_value: 3e-7, tests: [test('ks(noise)', 3e-7, true), test('ks(brightness)', 1, false), test('ks(probability[0])', 0.2, false)] });
    Object.assign(cifar100, { estimated_accuracy_note: 'the answers carried no all_probabilities' });
    Object.assign(cifar100.drift!, { detected: null, alpha: 0.05, detection_note: 'the answers carried no all_probabilities: BBSD unavailable, PSI only' });
    return result;
  }

  it('text: detection table, estimated vs actual with the error, the detector in the verdict line', () => {
    const text = renderDriftText(calibratedResult());
    expect(text).toContain("Shift detection (family-wise alpha 0.05: KS per softmax output and input statistic, chi-square on predicted classes; BBSD's Bonferroni rule, the rest on a null calibration; reference 5000 images)");
    const rows = text.split('\n');
    expect(rows.find((l) => l.startsWith('noisy ') && l.includes('1/3'))!.split(/\s+/)).toEqual(['noisy', 'yes', '3.0e-7', '1/3', 'ks(noise)', '1.0e-7']);
    expect(rows.find((l) => l.startsWith('cifar100 ') && l.includes('BBSD'))).toMatch(/cifar100 +n\/a +- +- +the answers carried no all_probabilities: BBSD unavailable, PSI only +-$/);
    expect(text).toContain('Accuracy: label-free estimate vs actual (error = estimated - actual)');
    expect(rows.find((l) => l.startsWith('noisy ') && l.includes('atc_mc'))!.split(/\s+/)).toEqual(['noisy', '25.0%', '30.0%', '(atc_mc)', '20.0%-40.0%', '+5.0', 'pts', '35.0%', '30.0%']);
    expect(rows.find((l) => l.startsWith('clean ') && l.includes('atc_mc'))).toContain('-5.0 pts');
    expect(text).toContain('noisy: drift detected (p 3.0e-7, ks(noise)); PSI says significant drift: PSI max 4.568 (noise)');
    expect(rows.find((l) => l.startsWith('noisy ') && l.includes('812'))!.split(/\s+/)).toEqual(['noisy', '4', '25.0%', '30.0%', '0.450', '100.0%', '0', '4.3', '9.5', '12.0', '812', '4.568', 'yes', 'significant']);
  });

  it('text: what an older model lacks, under the reference', () => {
    const result = calibratedResult();
    result.reference.missing = ['calibration: metadata.json has schema_version 1; retrain'];
    expect(renderDriftText(result)).toContain('reference:  the clean replay of this run (4 images)\n  lacks:    calibration: metadata.json has schema_version 1; retrain\n');
  });

  it('html: the same two tables', () => {
    const html = renderDriftHtml(calibratedResult(), Buffer.from('png'));
    expect(html).toContain('<h2>Shift detection</h2>');
    expect(html).toContain('<tr><td>noisy</td><td>yes</td><td>3.0e-7</td><td>1/3</td><td>ks(noise)</td><td>1.0e-7</td></tr>');
    expect(html).toContain('<h2>Accuracy: estimated vs actual</h2>');
    expect(html).toContain('<tr><td>noisy</td><td>25.0%</td><td>30.0% (atc_mc)</td><td>20.0%-40.0%</td><td>+5.0 pts</td><td>35.0%</td><td>30.0%</td></tr>');
  });

  it('one line each, not a table of the same reason, when nothing could be detected or estimated (an older model)', () => {
    const result = calibratedResult();
    const detectorNote = "reference has no probability vectors (the model's metadata.json has no calibration): BBSD unavailable, PSI only";
    for (const s of result.scenarios) {
      Object.assign(s, { estimated_accuracy: null, estimated_accuracy_note: 'no calibration' });
      if (s.drift) Object.assign(s.drift, { detected: null, p_value: null, tests: [], detection_note: detectorNote });
    }
    const text = renderDriftText(result);
    expect(text).toContain(`Shift detection: not run (${detectorNote})\n`);
    expect(text).toContain('Accuracy estimate (label-free): none (no calibration)\n');
    expect(text).not.toContain('corrected p');
    const html = renderDriftHtml(result, Buffer.from('png'));
    expect(html).toContain('<p>Not run: reference has no probability vectors');
    expect(html).toContain('<p>No label-free estimate: no calibration.</p>');
  });

  it('png: the estimates beside the actual accuracy', () => {
    const [accuracy] = driftChartConfigs(calibratedResult());
    expect(accuracy.data.datasets.map((d) => d.label)).toEqual(['actual', 'estimated without labels']);
    expect(accuracy.data.datasets[0].data).toEqual([75, 25, null]);
    expect(accuracy.data.datasets[1].data).toEqual([70, 30, null]);
    expect(driftChartConfigs(fixedResult())[0].data.datasets).toHaveLength(1);
    const noisyHistogram = driftChartConfigs(calibratedResult())[4];
    expect(noisyHistogram.options!.plugins!.title!.text).toBe('Confidence: noisy vs clean (baseline) (PSI 1.234, drift detected)');
    expect(renderDriftChart(calibratedResult()).subarray(1, 4).toString()).toBe('PNG');
  });

  it('a version-1 log renders without either table', () => {
    const text = renderDriftText(fixedResult());
    expect(text).not.toContain('Shift detection');
    expect(text).not.toContain('label-free estimate');
  });
});
