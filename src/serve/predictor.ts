/**
 * Micro-batching predictor: images that arrive within `maxWaitMs` of each other (or while a batch
 * is running) go into one forward pass of at most `maxBatchSize` images of the same model version.
 * Every protocol adapter (workshop JSON, multipart, batch, TF Serving) predicts through this one
 * object, whichever version it routed to. The queue is bounded for the whole server: a request
 * whose images do not fit is refused with OverloadedError (HTTP 503), so a burst sheds load
 * instead of growing memory and latency without limit.
 */
import { DataError } from '../errors';
import { PIXELS_PER_IMAGE } from '../preprocess';
import { ServedModel } from './served-model';

export interface BatchingOptions {
  /** Largest number of images in one model call. */
  maxBatchSize: number;
  /** How long the first queued image waits for company before its batch runs. */
  maxWaitMs: number;
  /** Most images waiting for the model; an empty queue always admits a request whole. */
  maxQueuedImages?: number;
}

export const DEFAULT_BATCHING: Required<BatchingOptions> = { maxBatchSize: 32, maxWaitMs: 2, maxQueuedImages: 256 };

/** The queue is full: try again shortly (HTTP 503 + Retry-After). */
export class OverloadedError extends Error {
  readonly retryAfterSeconds = 1;
  constructor(limit: number) {
    super(`the server is at capacity (${limit} images queued for the model); retry shortly`);
    this.name = 'OverloadedError';
  }
}

export interface ImagePrediction {
  /** Probabilities in class order (a view into the batch's output). */
  probabilities: Float32Array;
  classIndex: number;
  confidence: number;
  /** The model version that computed it (stays valid across a reload). */
  model: ServedModel;
  /** The 32x32 RGB input, for the monitor's input statistics. */
  pixels: Uint8Array;
}

interface QueuedImage {
  pixels: Uint8Array;
  model: ServedModel;
  /** Lets go of the model (held from queueing to answering, so a refresh cannot dispose it). */
  release: () => void;
  resolve: (prediction: ImagePrediction) => void;
  reject: (err: unknown) => void;
}

export class BatchingPredictor {
  private queue: QueuedImage[] = [];
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly options: BatchingOptions = DEFAULT_BATCHING,
    /** Called once per model call with its size and version (metrics). */
    private readonly onBatch: (size: number, model: ServedModel) => void = () => {},
  ) {}

  /** Predicts one uint8 32x32 RGB image (3072 bytes, HWC) with `model`. */
  async predict(pixels: Uint8Array, model: ServedModel): Promise<ImagePrediction> {
    return (await this.predictAll([pixels], model))[0];
  }

  /** Predicts several images of one request with `model`: all are queued, or none (OverloadedError). */
  predictAll(images: Uint8Array[], model: ServedModel): Promise<ImagePrediction[]> {
    const wrong = images.find((pixels) => pixels.length !== PIXELS_PER_IMAGE);
    if (wrong) return Promise.reject(new DataError(`expected ${PIXELS_PER_IMAGE} pixel bytes (32x32 RGB), got ${wrong.length}`));
    if (this.queue.length > 0 && this.queue.length + images.length > this.queueLimit) return Promise.reject(new OverloadedError(this.queueLimit));
    const predictions = images.map(
      (pixels) =>
        new Promise<ImagePrediction>((resolve, reject) => {
          this.queue.push({ pixels, model, release: model.acquire(), resolve, reject });
        }),
    );
    this.schedule();
    return Promise.all(predictions);
  }

  get pending(): number {
    return this.queue.length + (this.running ? 1 : 0);
  }

  get queueLimit(): number {
    return this.options.maxQueuedImages ?? DEFAULT_BATCHING.maxQueuedImages;
  }

  /** No room for another image: routes refuse before reading a body. */
  get saturated(): boolean {
    return this.queue.length >= this.queueLimit;
  }

  /** Resolves once no image is queued or being predicted (graceful stop). */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private schedule(): void {
    if (this.running) return; // the running batch picks the queue up when it ends
    if (this.queue.length >= this.options.maxBatchSize) {
      this.clearTimer();
      void this.runBatch();
    } else if (!this.timer) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        void this.runBatch();
      }, this.options.maxWaitMs);
    }
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async runBatch(): Promise<void> {
    if (this.running || this.queue.length === 0) return;
    this.running = true;
    const batch = this.takeBatch();
    const model = batch[0].model;
    try {
      const count = batch.length;
      const pixels = count === 1 ? batch[0].pixels : new Uint8Array(count * PIXELS_PER_IMAGE);
      if (count > 1) batch.forEach((item, i) => pixels.set(item.pixels, i * PIXELS_PER_IMAGE));
      this.onBatch(count, model);
      const output = await model.predict(pixels, count);
      const numClasses = output.length / count;
      batch.forEach((item, i) => {
        const probabilities = output.subarray(i * numClasses, (i + 1) * numClasses);
        let classIndex = 0;
        for (let c = 1; c < numClasses; c++) if (probabilities[c] > probabilities[classIndex]) classIndex = c;
        item.resolve({ probabilities, classIndex, confidence: probabilities[classIndex], model, pixels: item.pixels });
      });
    } catch (err) {
      for (const item of batch) item.reject(err);
    } finally {
      for (const item of batch) item.release();
      this.running = false;
      if (this.queue.length > 0) {
        // Whatever arrived while the model ran is already late: run it now rather than wait again.
        this.clearTimer();
        setImmediate(() => void this.runBatch());
      } else {
        for (const resolve of this.idleWaiters.splice(0)) resolve();
      }
    }
  }

  /** The oldest queued image and up to maxBatchSize - 1 more for the same version, in arrival order. */
  private takeBatch(): QueuedImage[] {
    const model = this.queue[0].model;
    const batch: QueuedImage[] = [];
    const rest: QueuedImage[] = [];
    for (const item of this.queue) (item.model === model && batch.length < this.options.maxBatchSize ? batch : rest).push(item);
    this.queue = rest;
    return batch;
  }
}
