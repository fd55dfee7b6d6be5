/**
 * The drift HTTP client: talks to a server only over HTTP, exactly as any client would
 * (PNG -> base64 JSON -> POST /predict), with a per-request timeout and retries with backoff.
 * Failed predictions are returned, never thrown. Redirects are followed by hand so the API key
 * only ever goes to the --url origin.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { MldeployError } from '../errors';

/** The API could not be reached or refused us before any replay: exit 2 like a usage error. */
export class ApiUnreachableError extends MldeployError {
  override readonly exitCode = 2;
}

export interface ClientOptions {
  /** Base URL, e.g. http://127.0.0.1:8000 (a trailing slash is fine). */
  url: string;
  apiKey?: string;
  timeoutMs: number;
  /** Extra attempts after a connection error, timeout, 429 or 5xx. */
  retries: number;
  /** First backoff delay; doubles with each further attempt. */
  backoffMs?: number;
}

export interface ModelInfo {
  model_type: string | null;
  version: string | null;
  class_names: string[];
  /** Accuracy on the model's own test set, from its metadata. */
  test_accuracy: number | null;
}

export interface PredictOutcome {
  ok: boolean;
  predictedClass: string | null;
  confidence: number | null;
  /** `all_probabilities` of the answer (class name -> probability); null when it has none. */
  probabilities: Record<string, number> | null;
  /** Round trip of the attempt that produced the answer. */
  latencyMs: number;
  retries: number;
  /** Failure cause: `http_<status>`, `timeout`, or a connection error code. */
  error: string | null;
}

const DEFAULT_BACKOFF_MS = 100;
const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** A 429/503's Retry-After is honoured up to this long before the next attempt. */
const MAX_RETRY_AFTER_MS = 5000;

/** A failure worth retrying (as opposed to a 4xx answer), with the wait the server asked for. */
class TransientError extends Error {
  constructor(
    readonly code: string,
    readonly retryAfterMs = 0,
  ) {
    super(code);
  }
}

export class PredictClient {
  private readonly base: string;
  private readonly origin: string;

  constructor(private readonly options: ClientOptions) {
    this.base = normaliseBaseUrl(options.url);
    this.origin = new URL(this.base).origin;
  }

  get url(): string {
    return this.base;
  }

  /** GET /ping then /model-info; anything short of a healthy, loaded model is ApiUnreachableError. */
  async probe(): Promise<ModelInfo> {
    let ping: Response;
    try {
      ping = await this.fetchOnce('/ping', { method: 'GET' });
    } catch (err) {
      throw new ApiUnreachableError(
        `cannot reach the API at ${this.base} (${describeFailure(err)}); start one with \`mldeploy serve\`, ` +
          'check --url, or use --model <path> to start one for this run',
      );
    }
    if (!ping.ok) throw new ApiUnreachableError(`the API at ${this.base} answered GET /ping with HTTP ${ping.status}`);
    const health = (await ping.json().catch(() => ({}))) as { model_loaded?: unknown };
    if (health.model_loaded === false) throw new ApiUnreachableError(`the API at ${this.base} has no model loaded`);
    const info = await this.getJson('/model-info');
    const classNames = (info as { class_names?: unknown }).class_names;
    if (!Array.isArray(classNames) || !classNames.every((name) => typeof name === 'string')) {
      throw new ApiUnreachableError(`GET ${this.base}/model-info did not list class_names; is this an mldeploy server?`);
    }
    const fields = info as { model_type?: unknown; version?: unknown; test_accuracy?: unknown };
    return {
      model_type: typeof fields.model_type === 'string' ? fields.model_type : null,
      version: typeof fields.version === 'string' ? fields.version : null,
      class_names: classNames as string[],
      test_accuracy: typeof fields.test_accuracy === 'number' ? fields.test_accuracy : null,
    };
  }

  /** GET a JSON document; non-2xx answers become ApiUnreachableError naming the route. */
  async getJson(route: string): Promise<unknown> {
    return this.getJsonOr404(route, false);
  }

  /** Like getJson, but a 404 (a route this server does not have) is null. */
  async getOptionalJson(route: string): Promise<unknown> {
    return this.getJsonOr404(route, true);
  }

  private async getJsonOr404(route: string, optional: boolean): Promise<unknown> {
    let response: Response;
    try {
      response = await this.fetchOnce(route, { method: 'GET' });
    } catch (err) {
      throw new ApiUnreachableError(`GET ${this.base}${route} failed: ${describeFailure(err)}`);
    }
    if (response.status === 401 || response.status === 403) {
      throw new ApiUnreachableError(`GET ${this.base}${route} was refused (HTTP ${response.status}); pass --api-key or set MLDEPLOY_API_KEY`);
    }
    if (optional && response.status === 404) {
      await response.body?.cancel();
      return null;
    }
    if (!response.ok) throw new ApiUnreachableError(`GET ${this.base}${route} answered HTTP ${response.status}`);
    try {
      return await response.json();
    } catch {
      throw new ApiUnreachableError(`GET ${this.base}${route} did not answer JSON`);
    }
  }

  /**
   * One real prediction before replaying, so a key the server refuses stops the run (exit 2)
   * instead of turning every replayed request into a failure. Other failures are left to the replay.
   */
  async checkPrediction(png: Buffer): Promise<void> {
    const outcome = await this.predict(png);
    if (outcome.error === 'http_401' || outcome.error === 'http_403') {
      throw new ApiUnreachableError(
        `the API at ${this.base} refused POST /predict (HTTP ${outcome.error.slice(5)}): ` +
          (this.options.apiKey ? 'the API key was not accepted; check --api-key or MLDEPLOY_API_KEY' : 'it needs an API key; pass --api-key or set MLDEPLOY_API_KEY') +
          '. Nothing was replayed.',
      );
    }
  }

  /** Whether GET /ping still answers at all within --timeout-ms (any HTTP status counts as alive); the reason when not. */
  async liveness(): Promise<string | null> {
    try {
      const response = await this.fetchOnce('/ping', { method: 'GET' });
      await response.body?.cancel();
      return null;
    } catch (err) {
      return describeFailure(err);
    }
  }

  /** POST one PNG to /predict; retries transient failures, never throws. Aborted by `signal`: error `aborted`. */
  async predict(png: Buffer, signal?: AbortSignal): Promise<PredictOutcome> {
    const body = JSON.stringify({ image_base64: png.toString('base64') });
    const backoff = this.options.backoffMs ?? DEFAULT_BACKOFF_MS;
    let lastError = 'unknown';
    let lastLatency = 0;
    let retryAfterMs = 0;
    for (let attempt = 0; attempt <= this.options.retries; attempt++) {
      // An aborted wait ends early; the check below then reports the abort.
      if (attempt > 0) await sleep(Math.max(backoff * 2 ** (attempt - 1), retryAfterMs), undefined, { signal }).catch(() => undefined);
      if (signal?.aborted) return failure('aborted', lastLatency, attempt);
      const started = performance.now();
      try {
        const response = await this.fetchOnce(
          '/predict',
          { method: 'POST', headers: { 'content-type': 'application/json' }, body },
          signal ? AbortSignal.any([signal, AbortSignal.timeout(this.options.timeoutMs)]) : undefined,
        );
        const text = await response.text();
        lastLatency = performance.now() - started;
        if (response.status >= 500 || response.status === 429) {
          throw new TransientError(`http_${response.status}`, parseRetryAfter(response.headers.get('retry-after')));
        }
        if (!response.ok) return failure(`http_${response.status}`, lastLatency, attempt);
        const parsed = parsePrediction(text);
        if (!parsed) return failure('invalid_response', lastLatency, attempt);
        return { ok: true, ...parsed, latencyMs: lastLatency, retries: attempt, error: null };
      } catch (err) {
        lastLatency = performance.now() - started;
        if (signal?.aborted) return failure('aborted', lastLatency, attempt);
        lastError = err instanceof TransientError ? err.code : describeFailure(err);
        retryAfterMs = err instanceof TransientError ? err.retryAfterMs : 0;
      }
    }
    return failure(lastError, lastLatency, this.options.retries);
  }

  /**
   * One request, following up to MAX_REDIRECTS redirects by hand: the API key goes only to the
   * --url origin (fetch itself would forward it anywhere), and 303, or 301/302 after a POST, become GET.
   */
  private async fetchOnce(route: string, init: RequestInit, signal?: AbortSignal): Promise<Response> {
    let url = new URL(this.base + route);
    let { method, body } = init;
    const headers = new Headers(init.headers);
    for (let hop = 0; ; hop++) {
      if (this.options.apiKey && url.origin === this.origin) headers.set('x-api-key', this.options.apiKey);
      else headers.delete('x-api-key');
      const response = await fetch(url, { method, body, headers, redirect: 'manual', signal: signal ?? AbortSignal.timeout(this.options.timeoutMs) });
      const location = response.headers.get('location');
      if (!REDIRECT_STATUSES.has(response.status) || location === null || hop === MAX_REDIRECTS) return response;
      await response.body?.cancel();
      url = new URL(location, url);
      if (response.status === 303 || ((response.status === 301 || response.status === 302) && method === 'POST')) {
        method = 'GET';
        body = undefined;
        headers.delete('content-type');
      }
    }
  }
}

function failure(error: string, latencyMs: number, retries: number): PredictOutcome {
  return { ok: false, predictedClass: null, confidence: null, probabilities: null, latencyMs, retries, error };
}

type ParsedPrediction = Pick<PredictOutcome, 'predictedClass' | 'confidence' | 'probabilities'>;

function parsePrediction(text: string): ParsedPrediction | null {
  try {
    const body = JSON.parse(text) as { predicted_class?: unknown; confidence?: unknown; all_probabilities?: unknown };
    if (typeof body.predicted_class !== 'string' || typeof body.confidence !== 'number') return null;
    return { predictedClass: body.predicted_class, confidence: body.confidence, probabilities: probabilityRecord(body.all_probabilities) };
  } catch {
    return null;
  }
}

/** A class name -> number object, else null (a server that does not send all_probabilities). */
function probabilityRecord(value: unknown): Record<string, number> | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const entries = Object.entries(value as Record<string, unknown>);
  return entries.length > 0 && entries.every(([, p]) => typeof p === 'number') ? (value as Record<string, number>) : null;
}

/**
 * fetch failures hide the socket error in `cause`; surface its code (ECONNREFUSED, ...).
 * Duck-typed because errors raised inside undici may come from another realm (jest's vm).
 */
function describeFailure(err: unknown): string {
  if (typeof err !== 'object' || err === null) return String(err);
  const { name, message, cause } = err as { name?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown } };
  if (name === 'TimeoutError' || name === 'AbortError') return 'timeout';
  if (cause && typeof cause.code === 'string') return cause.code;
  if (cause && typeof cause.message === 'string') return cause.message;
  return typeof message === 'string' ? message : String(err);
}

function normaliseBaseUrl(url: string): string {
  return url.replace(/\/+$/, '');
}

/** Retry-After in delta-seconds (an HTTP date is ignored), capped at MAX_RETRY_AFTER_MS; 0 when absent. */
function parseRetryAfter(header: string | null): number {
  const seconds = Number(header ?? '');
  return Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds * 1000, MAX_RETRY_AFTER_MS) : 0;
}
