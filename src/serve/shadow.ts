/**
 * `serve --shadow <version>`: once a request's response has been sent, its images are predicted
 * again by the shadow version and compared with what the client got (shadow-stats.ts). Shadow work
 * never touches the response: it starts after the response is finished, is skipped (and counted)
 * while other requests wait for the model or the shadow is still busy with an earlier request,
 * and a shadow that fails is only counted and logged. It does take CPU: a request arriving while a
 * shadow prediction runs waits for it, so `share` (serve --shadow-share) shadows only that share
 * of the primary's requests, spread evenly. Only answers of the primary version are
 * shadowed (a canary's are not comparisons with the primary). Shadow predictions are not written
 * to predictions.jsonl (that log is what clients were answered); they feed the monitor's window
 * of the shadow version, so GET /monitoring can estimate its accuracy.
 */
import { performance } from 'node:perf_hooks';
import type { Response } from 'express';
import { argmax } from '../model/calibration';
import type { MonitoredRecord } from '../monitor/live';
import { monitorFields } from '../monitor/record';
import { PIXELS_PER_IMAGE } from '../preprocess';
import type { ShadowSection } from '../rollout/monitoring-contract';
import type { ImagePrediction } from './predictor';
import type { ServedModel } from './served-model';
import type { ComparedPrediction, ShadowRecorder } from './shadow-stats';

export interface ShadowRunnerOptions {
  /** The shadow version served now (follows label refreshes), or null. */
  shadow: () => ServedModel | null;
  /** The version unpinned traffic goes to: only its answers are compared. */
  primary: () => ServedModel;
  /** True while requests wait for the model: shadow work then would delay them. */
  busy: () => boolean;
  /** Share of the primary's requests to shadow, (0, 1] (default 1: every one). */
  share?: number;
  /** Feeds the monitor's window of the shadow version (where the monitor runs in-process). */
  record?: (record: MonitoredRecord) => void;
  /** A shadow failure, for the server log; the client never sees it. */
  onError?: (err: Error, version: string) => void;
}

export class ShadowRunner {
  private running: Promise<void> | null = null;
  /** Requests owed a shadow: grows by `share` per primary request, one is shadowed per whole unit. */
  private credit = 0;

  constructor(
    private readonly stats: ShadowRecorder,
    private readonly options: ShadowRunnerOptions,
  ) {}

  /** Call with a request's predictions before or after answering it: they are shadowed once the response is finished. */
  afterResponse(res: Response, predictions: ImagePrediction[]): void {
    if (predictions.length === 0 || !this.options.shadow()) return;
    const later = () => setImmediate(() => this.shadowRequest(predictions));
    if (res.writableFinished) later();
    else res.once('finish', later);
  }

  /** The `shadow` section of GET /monitoring; null when no shadow version is served. */
  section(): ShadowSection | null {
    const shadow = this.options.shadow();
    return shadow ? this.stats.section(this.options.primary().version, shadow.version) : null;
  }

  /** Resolves when no shadow prediction is running (graceful stop). */
  async idle(): Promise<void> {
    await this.running;
  }

  private shadowRequest(predictions: ImagePrediction[]): void {
    const shadow = this.options.shadow();
    const primary = predictions[0].model;
    if (!shadow || primary !== this.options.primary() || primary.version === shadow.version) return;
    this.credit += this.options.share ?? 1;
    if (this.credit < 1) return;
    this.credit -= 1;
    if (this.running) return this.stats.skip(primary.version, shadow.version, 'shadow_busy', predictions.length);
    if (this.options.busy()) return this.stats.skip(primary.version, shadow.version, 'busy', predictions.length);
    this.running = this.predict(shadow, predictions).finally(() => {
      this.running = null;
    });
  }

  private async predict(shadow: ServedModel, predictions: ImagePrediction[]): Promise<void> {
    const primaryVersion = predictions[0].model.version;
    const count = predictions.length;
    const pixels = new Uint8Array(count * PIXELS_PER_IMAGE);
    predictions.forEach((p, i) => pixels.set(p.pixels, i * PIXELS_PER_IMAGE));
    const started = performance.now();
    let output: Float32Array;
    try {
      output = await shadow.predict(pixels, count);
    } catch (err) {
      this.stats.skip(primaryVersion, shadow.version, 'error', count);
      this.options.onError?.(err as Error, shadow.version);
      return;
    }
    const latencyMs = performance.now() - started;
    const numClasses = output.length / count;
    const rows = predictions.map((_, i) => output.subarray(i * numClasses, (i + 1) * numClasses));
    this.stats.compare(primaryVersion, shadow.version, predictions, rows.map(topClass), latencyMs);
    rows.forEach((probabilities, i) => this.options.record?.({ model_version: shadow.version, ...monitorFields({ probabilities, pixels: predictions[i].pixels }) }));
  }
}

function topClass(probabilities: Float32Array): ComparedPrediction {
  const { index, value } = argmax(probabilities);
  return { classIndex: index, confidence: value };
}
