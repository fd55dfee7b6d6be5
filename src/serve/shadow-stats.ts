/**
 * What a shadow version did next to the primary: per image, whether the top class agreed and how
 * far the confidences were apart; per shadowed request, how long the shadow took; and how often
 * shadow work was skipped. Kept as Prometheus metrics (mldeploy_shadow_*, labelled with the
 * versions) and as the `shadow` section of GET /monitoring.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import type { ShadowSection } from '../rollout/monitoring-contract';
import { METRIC_PREFIX } from './metrics';
import { percentile } from './traffic';

/** Why shadow work was not done: the server had other work, the shadow had not finished its last request, or it failed. */
export type ShadowSkipReason = 'busy' | 'shadow_busy' | 'error';

/** The part of a prediction a comparison needs. */
export interface ComparedPrediction {
  classIndex: number;
  confidence: number;
}

/** Latencies kept for the section's p95 (the most recent ones). */
const LATENCY_SAMPLES = 1000;

export class ShadowMetrics {
  readonly comparisons: Counter<'version' | 'primary_version'>;
  readonly agreements: Counter<'version' | 'primary_version'>;
  readonly skipped: Counter<'version' | 'reason'>;
  readonly latency: Histogram<'version'>;
  readonly confidenceDiff: Histogram<'version' | 'primary_version'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.comparisons = new Counter({
      name: `${METRIC_PREFIX}shadow_comparisons_total`,
      help: 'Images the shadow version predicted next to the primary',
      labelNames: ['version', 'primary_version'],
      registers,
    });
    this.agreements = new Counter({
      name: `${METRIC_PREFIX}shadow_agreements_total`,
      help: "Shadow predictions whose top class was the primary's",
      labelNames: ['version', 'primary_version'],
      registers,
    });
    this.skipped = new Counter({
      name: `${METRIC_PREFIX}shadow_skipped_total`,
      help: 'Images not shadowed: server busy, shadow still working on an earlier request, or shadow failed',
      labelNames: ['version', 'reason'],
      registers,
    });
    this.latency = new Histogram({
      name: `${METRIC_PREFIX}shadow_latency_seconds`,
      help: "The shadow version's prediction time per shadowed request",
      labelNames: ['version'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.confidenceDiff = new Histogram({
      name: `${METRIC_PREFIX}shadow_confidence_diff`,
      help: "|primary confidence - shadow confidence| per shadowed image (each on its own top class)",
      labelNames: ['version', 'primary_version'],
      buckets: [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1],
      registers,
    });
  }
}

/** Where a shadow runner's results go: this process's figures, or (cluster workers) the primary's. */
export interface ShadowRecorder {
  compare(primaryVersion: string, shadowVersion: string, primary: ComparedPrediction[], shadow: ComparedPrediction[], latencyMs: number): void;
  skip(primaryVersion: string, shadowVersion: string, reason: ShadowSkipReason, images: number): void;
  section(primaryVersion: string, shadowVersion: string): ShadowSection;
}

/** The running figures for one (shadow, primary) pair; a new pair starts from zero. */
export class ShadowStats implements ShadowRecorder {
  private pair: { version: string; primary: string } | null = null;
  private compared = 0;
  private agreed = 0;
  private diffSum = 0;
  private skippedCount = 0;
  private latencies: number[] = [];
  private nextLatency = 0;

  constructor(private readonly metrics: ShadowMetrics) {}

  /** One shadowed request: the primary's and the shadow's predictions of its images, in order. */
  compare(primaryVersion: string, shadowVersion: string, primary: ComparedPrediction[], shadow: ComparedPrediction[], latencyMs: number): void {
    this.usePair(shadowVersion, primaryVersion);
    const labels = { version: shadowVersion, primary_version: primaryVersion };
    primary.forEach((p, i) => {
      const s = shadow[i];
      const diff = Math.abs(p.confidence - s.confidence);
      this.compared += 1;
      this.diffSum += diff;
      this.metrics.comparisons.inc(labels);
      this.metrics.confidenceDiff.observe(labels, diff);
      if (p.classIndex === s.classIndex) {
        this.agreed += 1;
        this.metrics.agreements.inc(labels);
      }
    });
    this.metrics.latency.observe({ version: shadowVersion }, latencyMs / 1000);
    if (this.latencies.length < LATENCY_SAMPLES) this.latencies.push(latencyMs);
    else this.latencies[this.nextLatency] = latencyMs;
    this.nextLatency = (this.nextLatency + 1) % LATENCY_SAMPLES;
  }

  skip(primaryVersion: string, shadowVersion: string, reason: ShadowSkipReason, images: number): void {
    this.usePair(shadowVersion, primaryVersion);
    this.skippedCount += images;
    this.metrics.skipped.inc({ version: shadowVersion, reason }, images);
  }

  /** The `shadow` section of GET /monitoring for the pair served now (zeros when it just changed). */
  section(primaryVersion: string, shadowVersion: string): ShadowSection {
    this.usePair(shadowVersion, primaryVersion);
    return {
      version: shadowVersion,
      primary_version: primaryVersion,
      compared: this.compared,
      agreement: this.compared === 0 ? null : this.agreed / this.compared,
      mean_confidence_diff: this.compared === 0 ? null : this.diffSum / this.compared,
      latency_p95_ms: percentile(this.latencies, 0.95),
      skipped: this.skippedCount,
    };
  }

  /** The section of the pair seen last (the cluster primary answers workers with it); null before any. */
  current(): ShadowSection | null {
    return this.pair ? this.section(this.pair.primary, this.pair.version) : null;
  }

  private usePair(version: string, primary: string): void {
    if (this.pair?.version === version && this.pair.primary === primary) return;
    this.pair = { version, primary };
    this.compared = this.agreed = this.diffSum = this.skippedCount = this.nextLatency = 0;
    this.latencies = [];
  }
}
