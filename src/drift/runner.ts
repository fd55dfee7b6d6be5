/**
 * `mldeploy drift` as one library call: validate everything, load the scenario images, reach
 * (or start) a server, check one real prediction, replay each scenario over HTTP within the
 * deadline, and assemble the result object. Writing the reports is the caller's (see report/).
 */
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MldeployError } from '../errors';
import { referenceProfileSchema, type ReferenceProfile } from '../model/metadata';
import { PIXELS_PER_IMAGE, encodePng } from '../preprocess';
import { startServer } from '../serve';
import { describeInvalid } from '../util/validation';
import { MeasuredRun, assembleResult } from './assemble';
import { DriftOptions, validateDriftOptions } from './options';
import { PredictClient } from './client';
import { loadModelCalibration, requireCalibrationFor } from './model-calibration';
import { replayImages } from './replay';
import type { DriftResult } from './result';
import { ScenarioImages, buildScenarioImages, loadSources } from './sources';

/**
 * The whole drift run. Throws UsageError (exit 2) for bad options, a missing data source, an
 * unreachable API or a refused API key; a run that stops early still returns what it measured,
 * with `complete: false`.
 */
export async function runDrift(options: DriftOptions): Promise<DriftResult> {
  const started = performance.now();
  const plan = validateDriftOptions(options);
  const progress = options.onProgress ?? (() => undefined);
  const deadline = new AbortController();
  const timer = plan.deadlineS === null ? null : setTimeout(() => deadline.abort(new Error(`--deadline ${plan.deadlineS} s reached`)), plan.deadlineS * 1000);

  let logDir: string | null = null;
  let server: { url: string; close(): Promise<void> } | null = null;
  try {
    const sources = await beforeDeadline(loadSources(plan, options, progress), deadline.signal, 'loading the images');
    let url = plan.url;
    if (url === null) {
      progress({ type: 'stage', message: `starting a server for ${options.modelPath}` });
      logDir = await fs.mkdtemp(path.join(os.tmpdir(), 'mldeploy-drift-'));
      server = await startServer({ modelPath: options.modelPath!, backend: options.backend, port: 0, host: '127.0.0.1', workers: 1, logDir, logLevel: 'silent' });
      url = server.url;
    }
    const client = new PredictClient({ url, apiKey: options.apiKey, timeoutMs: options.timeoutMs, retries: options.retries });
    const prepared = async () => {
      const info = await client.probe();
      progress({ type: 'stage', message: `replaying against ${client.url} (model ${info.version ?? 'unknown'}, classes: ${info.class_names.length})` });
      const profile = options.reference === 'model' ? await fetchReferenceProfile(client) : null;
      const calibration = await loadModelCalibration(client, options.modelPath);
      requireCalibrationFor(plan.rules, options.reference, calibration);
      const scenarios = await buildScenarioImages(plan, sources, info.class_names, options, calibration.calibration);
      await checkOnePrediction(client, scenarios);
      return { info, profile, calibration, scenarios };
    };
    const { info, profile, calibration, scenarios } = await beforeDeadline(prepared(), deadline.signal, 'reaching the API');

    const replays: MeasuredRun['replays'] = [];
    let incompleteReason: string | null = null;
    for (const scenario of scenarios) {
      if (deadline.signal.aborted) break;
      progress({ type: 'replay-start', scenario: scenario.name, total: scenario.images.count });
      const outcome = await replayImages(
        client,
        scenario.images,
        options.concurrency,
        (p) => progress({ type: 'replay', scenario: scenario.name, ...p }),
        deadline.signal,
      );
      // total: the images actually sent, so a stopped replay's rate is not overstated.
      progress({ type: 'replay-end', scenario: scenario.name, total: scenario.images.count - outcome.unsent, failed: outcome.failed, durationS: outcome.durationS });
      replays.push({ scenario, outcome });
      if (outcome.stopped !== null) {
        incompleteReason = `stopped in scenario ${scenario.name}: ${outcome.stopped}`;
        break;
      }
    }
    if (incompleteReason === null && replays.length < scenarios.length) incompleteReason = describeAbort(deadline.signal);
    if (incompleteReason !== null && replays.length < scenarios.length) {
      incompleteReason += `; not replayed: ${scenarios.slice(replays.length).map((s) => s.name).join(', ')}`;
    }
    return assembleResult(options, plan, { info, profile, calibration, url: client.url, replays, incompleteReason, durationS: (performance.now() - started) / 1000 });
  } finally {
    if (timer) clearTimeout(timer);
    if (server) await server.close();
    if (logDir) await fs.rm(logDir, { recursive: true, force: true });
  }
}

/** Setup that outlives the deadline has measured nothing to report: a plain failure (exit 1). */
async function beforeDeadline<T>(work: Promise<T>, signal: AbortSignal, stage: string): Promise<T> {
  // Left running when the deadline wins; its late failure must not become an unhandled rejection.
  work.catch(() => undefined);
  let onAbort: () => void = () => undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new MldeployError(`${describeAbort(signal)} while ${stage}; nothing was replayed`));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

function describeAbort(signal: AbortSignal): string {
  return signal.reason instanceof Error ? signal.reason.message : String(signal.reason);
}

/** One real prediction with the first image, so a refused API key is exit 2 before any replay. */
async function checkOnePrediction(client: PredictClient, scenarios: ScenarioImages[]): Promise<void> {
  const first = scenarios.find((s) => s.images.count > 0);
  if (first) await client.checkPrediction(await encodePng(first.images.pixels.subarray(0, PIXELS_PER_IMAGE)));
}

async function fetchReferenceProfile(client: PredictClient): Promise<ReferenceProfile> {
  const body = await client.getJson('/model-info/reference');
  const parsed = referenceProfileSchema.safeParse(body);
  if (!parsed.success) throw new MldeployError(describeInvalid("the server's reference profile (GET /model-info/reference)", parsed.error));
  if (!parsed.data.signals.confidence?.length) {
    throw new MldeployError("the model's reference profile holds no per-image confidences; use --reference baseline");
  }
  return parsed.data;
}
