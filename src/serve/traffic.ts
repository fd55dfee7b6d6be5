/**
 * Per-version request figures behind /monitoring's `versions`: requests and errors since the
 * version started serving, and the p95 latency of its last `window` requests. Errors are the
 * version's own failures (5xx), not a full queue (503) or a client's bad input (4xx). In cluster
 * mode the workers send their samples to the primary, which keeps the one VersionTraffic.
 */
import { DEFAULT_MONITOR_WINDOW } from '../monitor/window';

export interface TrafficFigures {
  requests: number;
  errors: number;
  error_rate: number | null;
  latency_p95_ms: number | null;
}

/** One answered request: version, latency in ms, 1 when it failed with the version's own error. */
export type TrafficSample = [version: string, latencyMs: number, failed: 0 | 1];

/** How the HTTP layer reaches the figures: in-process, or through the cluster primary. */
export interface TrafficAccess {
  record(sample: TrafficSample): void;
  figures(versions: string[]): Promise<Record<string, TrafficFigures>>;
}

export function isVersionFailure(status: number): boolean {
  return status >= 500 && status !== 503;
}

interface VersionCounts {
  requests: number;
  errors: number;
  latencies: number[];
  next: number;
}

export class VersionTraffic implements TrafficAccess {
  private readonly counts = new Map<string, VersionCounts>();

  constructor(private readonly window = DEFAULT_MONITOR_WINDOW) {}

  record([version, latencyMs, failed]: TrafficSample): void {
    let counts = this.counts.get(version);
    if (!counts) this.counts.set(version, (counts = { requests: 0, errors: 0, latencies: [], next: 0 }));
    counts.requests += 1;
    counts.errors += failed;
    if (failed) return;
    // A ring of the last `window` latencies.
    if (counts.latencies.length < this.window) counts.latencies.push(latencyMs);
    else counts.latencies[counts.next] = latencyMs;
    counts.next = (counts.next + 1) % this.window;
  }

  figuresOf(version: string): TrafficFigures {
    const counts = this.counts.get(version);
    if (!counts) return { requests: 0, errors: 0, error_rate: null, latency_p95_ms: null };
    return {
      requests: counts.requests,
      errors: counts.errors,
      error_rate: counts.errors / counts.requests,
      latency_p95_ms: percentile(counts.latencies, 0.95),
    };
  }

  async figures(versions: string[]): Promise<Record<string, TrafficFigures>> {
    return Object.fromEntries(versions.map((version) => [version, this.figuresOf(version)]));
  }
}

/** Nearest-rank percentile (null for no values). */
export function percentile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

/** A cluster worker's side: samples go to the primary in small batches; figures are asked for by id. */
export class ForwardedTraffic implements TrafficAccess {
  private buffer: TrafficSample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly waiting = new Map<number, (figures: Record<string, TrafficFigures>) => void>();
  private nextId = 0;

  constructor(
    private readonly sendSamples: (samples: TrafficSample[]) => void,
    private readonly ask: (id: number, versions: string[]) => void,
    private readonly flushMs = 100,
  ) {}

  record(sample: TrafficSample): void {
    this.buffer.push(sample);
    this.timer ??= setTimeout(() => this.flush(), this.flushMs).unref();
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.buffer.length > 0) this.sendSamples(this.buffer.splice(0));
  }

  figures(versions: string[]): Promise<Record<string, TrafficFigures>> {
    // Samples still buffered here go first, so the answer includes this worker's latest requests.
    this.flush();
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.ask(id, versions);
    });
  }

  settle(id: number, figures: Record<string, TrafficFigures>): void {
    const resolve = this.waiting.get(id);
    this.waiting.delete(id);
    resolve?.(figures);
  }
}
