/**
 * drift_analysis.png: Chart.js panels drawn from the drift result object (nothing recomputed):
 * accuracy, confidence, success rate and latency per scenario, then one confidence
 * histogram per compared scenario overlaid on the reference's.
 */
import type { ChartConfiguration } from 'chart.js';
import type { DriftResult, ScenarioResult } from '../drift/result';
import { ChartPanel, renderChartGrid } from './chart-png';

const COLUMNS = 2;
const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f'];
const REFERENCE_COLOUR = 'rgba(90, 90, 90, 0.45)';

function colourOf(index: number): string {
  return PALETTE[index % PALETTE.length];
}

function titled(text: string | string[]): { display: true; text: string | string[]; font: { size: number } } {
  return { display: true, text, font: { size: 17 } };
}

function percentBar(result: DriftResult, title: string, value: (s: ScenarioResult) => number | null): ChartConfiguration {
  const names = result.scenarios.map((s) => s.name);
  const values = result.scenarios.map((s) => {
    const v = value(s);
    return v === null ? null : Math.round(v * 1000) / 10;
  });
  return {
    type: 'bar',
    data: {
      labels: names,
      datasets: [{ label: title, data: values, backgroundColor: names.map((_, i) => colourOf(i)) }],
    },
    options: {
      plugins: { title: titled(title), legend: { display: false } },
      scales: {
        y: { min: 0, max: 100, title: { display: true, text: '%' } },
        x: { ticks: { font: { size: 13 } } },
      },
    },
  };
}

/** Accuracy per scenario; with label-free estimates, each beside it as a grey bar. */
function accuracyChart(result: DriftResult): ChartConfiguration {
  const chart = percentBar(result, 'Accuracy (no bar = unlabelled)', (s) => s.accuracy);
  if (!result.scenarios.some((s) => s.estimated_accuracy)) return chart;
  chart.data.datasets[0].label = 'actual';
  chart.data.datasets.push({
    label: 'estimated without labels',
    data: result.scenarios.map((s) => (s.estimated_accuracy ? Math.round(s.estimated_accuracy.value * 1000) / 10 : null)),
    backgroundColor: REFERENCE_COLOUR,
  });
  chart.options!.plugins!.title = titled('Accuracy: actual (colour) and estimated without labels (grey)');
  return chart;
}

function latencyChart(result: DriftResult): ChartConfiguration {
  const percentiles = ['p50', 'p95', 'p99'] as const;
  const shades = ['#9ecae1', '#4292c6', '#08519c'];
  return {
    type: 'bar',
    data: {
      labels: result.scenarios.map((s) => s.name),
      datasets: percentiles.map((p, i) => ({
        label: p,
        data: result.scenarios.map((s) => s.latency_ms[p]),
        backgroundColor: shades[i],
      })),
    },
    options: {
      plugins: { title: titled('Latency per request (ms)'), legend: { position: 'top' } },
      scales: { y: { min: 0, title: { display: true, text: 'ms' } }, x: { ticks: { font: { size: 13 } } } },
    },
  };
}

function histogramChart(result: DriftResult, scenario: ScenarioResult, colour: string): ChartConfiguration {
  const edges = scenario.confidence_histogram.bin_edges;
  const labels = edges.slice(0, -1).map((edge, i) => `${edge.toFixed(1)}-${edges[i + 1].toFixed(1)}`);
  const referenceLabel = result.reference.kind === 'model' ? 'model reference' : `${result.reference.scenario} (baseline)`;
  const detected = scenario.drift?.detected;
  const decision = detected === true ? ', drift detected' : detected === false ? ', no drift detected' : '';
  const psi = scenario.drift ? `PSI ${scenario.drift.psi.confidence.toFixed(3)}${decision}` : 'reference';
  return {
    type: 'bar',
    data: {
      labels,
      datasets: [
        {
          label: scenario.name,
          data: scenario.confidence_histogram.fractions.map((f) => f * 100),
          backgroundColor: colour + 'cc',
          barPercentage: 0.55,
          grouped: false,
          order: 0,
        },
        {
          label: referenceLabel,
          data: result.reference.confidence_histogram.fractions.map((f) => f * 100),
          backgroundColor: REFERENCE_COLOUR,
          barPercentage: 1,
          categoryPercentage: 1,
          grouped: false,
          order: 1,
        },
      ],
    },
    options: {
      plugins: { title: titled(`Confidence: ${scenario.name} vs ${referenceLabel} (${psi})`), legend: { position: 'top' } },
      scales: {
        y: { min: 0, title: { display: true, text: '% of predictions' } },
        x: { title: { display: true, text: 'top-1 confidence' } },
      },
    },
  };
}

/** The chart configurations, in grid order. */
export function driftChartConfigs(result: DriftResult): ChartConfiguration[] {
  const configs: ChartConfiguration[] = [
    accuracyChart(result),
    percentBar(result, 'Mean confidence', (s) => s.mean_confidence),
    percentBar(result, 'Success rate', (s) => s.success_rate),
    latencyChart(result),
  ];
  result.scenarios.forEach((scenario, index) => {
    if (scenario.drift) configs.push(histogramChart(result, scenario, colourOf(index)));
  });
  return configs;
}

/** drift_analysis.png as bytes (the HTML report embeds the same image). */
export function renderDriftChart(result: DriftResult): Buffer {
  const panels: ChartPanel[] = driftChartConfigs(result).map((config, i) => ({
    config,
    column: i % COLUMNS,
    row: Math.floor(i / COLUMNS),
  }));
  return renderChartGrid(panels, COLUMNS);
}
