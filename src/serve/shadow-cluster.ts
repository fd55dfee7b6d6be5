/**
 * Shadow figures in cluster mode: workers run the shadow, the primary keeps the one ShadowStats
 * (and the shadow metrics, in its own registry), as it keeps the traffic figures and the monitor.
 * A worker's results go to the primary in small batches; its /monitoring shows the primary's
 * section, which comes with every monitoring answer.
 */
import type { MonitoredRecord } from '../monitor/live';
import type { ShadowSection } from '../rollout/monitoring-contract';
import type { ComparedPrediction, ShadowRecorder, ShadowSkipReason, ShadowStats } from './shadow-stats';

/** One result a worker sends: a comparison, a skip, or a shadow prediction for the monitor's window. */
export type ShadowEvent =
  | { kind: 'compare'; primary_version: string; version: string; primary: ComparedPrediction[]; shadow: ComparedPrediction[]; latency_ms: number }
  | { kind: 'skip'; primary_version: string; version: string; reason: ShadowSkipReason; images: number }
  | { kind: 'record'; record: MonitoredRecord };

/** The primary's side: applies a worker's events to its stats and monitor. */
export function applyShadowEvents(events: ShadowEvent[], stats: ShadowStats, record: ((record: MonitoredRecord) => void) | undefined): void {
  for (const event of events) {
    if (event.kind === 'compare') stats.compare(event.primary_version, event.version, event.primary, event.shadow, event.latency_ms);
    else if (event.kind === 'skip') stats.skip(event.primary_version, event.version, event.reason, event.images);
    else record?.(event.record);
  }
}

/** A worker's recorder: events are batched to the primary; the section is the primary's last one. */
export class ForwardedShadowStats implements ShadowRecorder {
  private buffer: ShadowEvent[] = [];
  private timer: NodeJS.Timeout | undefined;
  private fromPrimary: ShadowSection | null = null;

  constructor(
    private readonly sendEvents: (events: ShadowEvent[]) => void,
    private readonly flushMs = 100,
  ) {}

  compare(primaryVersion: string, shadowVersion: string, primary: ComparedPrediction[], shadow: ComparedPrediction[], latencyMs: number): void {
    const pick = (p: ComparedPrediction) => ({ classIndex: p.classIndex, confidence: p.confidence });
    this.push({ kind: 'compare', primary_version: primaryVersion, version: shadowVersion, primary: primary.map(pick), shadow: shadow.map(pick), latency_ms: latencyMs });
  }

  skip(primaryVersion: string, shadowVersion: string, reason: ShadowSkipReason, images: number): void {
    this.push({ kind: 'skip', primary_version: primaryVersion, version: shadowVersion, reason, images });
  }

  /** A shadow prediction for the primary's monitor (the shadow version's window). */
  record(record: MonitoredRecord): void {
    this.push({ kind: 'record', record });
  }

  section(primaryVersion: string, shadowVersion: string): ShadowSection {
    const s = this.fromPrimary;
    if (s && s.version === shadowVersion && s.primary_version === primaryVersion) return s;
    return { version: shadowVersion, primary_version: primaryVersion, compared: 0, agreement: null, mean_confidence_diff: null, latency_p95_ms: null, skipped: 0 };
  }

  /** The primary's section, as it came with a monitoring answer. */
  settle(section: ShadowSection | null): void {
    this.fromPrimary = section;
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.buffer.length > 0) this.sendEvents(this.buffer.splice(0));
  }

  private push(event: ShadowEvent): void {
    this.buffer.push(event);
    this.timer ??= setTimeout(() => this.flush(), this.flushMs).unref();
  }
}
