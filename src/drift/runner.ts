/**
 * `mldeploy drift` as one library call: validate everything, load the scenario images,
 * reach (or start) a server, replay each scenario over HTTP, measure, compare with the
 * reference, gate, and write the four outputs. Returns the one result object they render.
 */
import { existsSync, promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadCifar10 } from '../data/cifar10';
import { Cifar100UnavailableError, loadCifar100 } from '../data/cifar100';
import { loadImageFolder } from '../data/image-folder';
import { DatasetUnavailableError, isUrl, type OfficialArchive } from '../data/official';
import { sampleImages } from '../data/sample';
import type { DataProgress, ImageSet } from '../data/types';
import { MldeployError, UsageError } from '../errors';
import { referenceProfileSchema, type ReferenceProfile } from '../model/metadata';
import { IMAGE_SIGNALS, batchImageStats } from '../preprocess/image-stats';
import { renderDriftChart } from '../report/drift-chart';
import { renderDriftHtml } from '../report/drift-html';
import { renderDriftText } from '../report/drift-text';
import { startServer } from '../serve';
import { writeFileAtomic } from '../util/atomic-write';
import { recommendationsFor } from './recommend';
import { ModelInfo, PredictClient, ReplayOutcome, replayImages } from './replay';
import {
  ConfidenceHistogram,
  DRIFT_RESULT_SCHEMA_VERSION,
  DriftResult,
  ScenarioDrift,
  ScenarioResult,
  parseDriftResult,
} from './result';
import { Rule, SCENARIO_NAME_PATTERN, ScenarioMetrics, evaluateRules, parseRule } from './rules';
import { SCENARIOS, TRANSFORM_SCENARIO_NAMES, applyScenario, isTransformScenario } from './scenarios';
import { PSI_BINS, chiSquare, ksTwoSample, psiCategorical, psiContinuous, psiLevel, quantileOfSorted } from './stats';
import { describeInvalid } from '../util/validation';

export const BASELINE_SCENARIO = 'clean';
export const CIFAR100_SCENARIO = 'cifar100';
export const DEFAULT_SCENARIOS = ['clean', 'noisy', 'very_noisy', 'cifar100'];
export const DEFAULT_SAMPLES = 1000;
export const DEFAULT_CONCURRENCY = 16;
export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_RETRIES = 2;
export const DEFAULT_SEED = 42;
/** Every scenario name that needs no --scenario source. */
export const BUILT_IN_SCENARIOS = [...TRANSFORM_SCENARIO_NAMES, CIFAR100_SCENARIO];
/** Signals compared with PSI and KS besides the predicted-class distribution. */
export const DRIFT_SIGNALS = ['confidence', ...IMAGE_SIGNALS] as const;
/** Fixed confidence bins for the histograms in the result and the charts. */
const HISTOGRAM_EDGES = Array.from({ length: 11 }, (_, i) => i / 10);

export const OUTPUT_FILES = {
  json: 'performance_log.json',
  text: 'drift_report.txt',
  html: 'drift_report.html',
  chart: 'drift_analysis.png',
} as const;

export interface CustomScenarioSpec {
  name: string;
  /** A class-folder directory or .tar.gz of images. */
  source: string;
}

export interface DriftOptions {
  /** A running server; exactly one of url and modelPath. */
  url?: string;
  /** A model to serve in-process for this run. */
  modelPath?: string;
  samples: number;
  scenarios: string[];
  customScenarios: CustomScenarioSpec[];
  concurrency: number;
  timeoutMs: number;
  retries: number;
  seed: number;
  /** CIFAR-10 source (archive, folder, URL); undefined: the official download cached in dataDir. */
  data?: string;
  /** CIFAR-100 source; undefined: the official download cached in dataDir. */
  cifar100?: string;
  dataDir: string;
  outDir: string;
  plotsDir: string;
  reference: 'baseline' | 'model';
  failOn: string[];
  apiKey?: string;
  onProgress?: (event: DriftProgress) => void;
  /** Where the default CIFAR-100 download comes from (a mirror, or a local server in tests). */
  cifar100Archive?: OfficialArchive;
}

export type DriftProgress =
  | { type: 'stage'; message: string }
  | { type: 'data'; dataset: string; progress: DataProgress }
  | { type: 'replay-start'; scenario: string; total: number }
  | { type: 'replay'; scenario: string; done: number; total: number; failed: number }
  | { type: 'replay-end'; scenario: string; total: number; failed: number; durationS: number };

export interface DriftRun {
  result: DriftResult;
  files: Record<keyof typeof OUTPUT_FILES, string>;
}

interface ScenarioPlan {
  name: string;
  kind: 'transform' | 'cifar100' | 'folder';
  source?: string;
}

interface ValidatedPlan {
  scenarios: ScenarioPlan[];
  rules: Rule[];
  url: string | null;
}

interface ScenarioImages {
  name: string;
  source: string;
  images: ImageSet;
  /** True class name per image; null when unlabelled for this model. */
  trueLabels: string[] | null;
}

/** Per-image values drift statistics compare. */
interface Signals {
  values: Record<(typeof DRIFT_SIGNALS)[number], number[]>;
  classCounts: number[];
}

/** Checks every option, rule and scenario name; throws UsageError before anything is loaded or sent. */
export function validateDriftOptions(options: DriftOptions): ValidatedPlan {
  if ((options.url === undefined) === (options.modelPath === undefined)) {
    throw new UsageError(
      'give exactly one of --url <http://host:port> (a running server) or --model <path> (serve that model for this run)',
    );
  }
  let url: string | null = null;
  if (options.url !== undefined) {
    let parsed: URL;
    try {
      parsed = new URL(options.url);
    } catch {
      throw new UsageError(`--url "${options.url}" is not a URL; expected e.g. http://127.0.0.1:8000`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new UsageError(`--url must be http:// or https://, got "${options.url}"`);
    }
    url = options.url;
  }
  positiveInteger(options.samples, '--samples');
  positiveInteger(options.concurrency, '--concurrency');
  positiveInteger(options.timeoutMs, '--timeout-ms');
  if (!Number.isInteger(options.retries) || options.retries < 0) throw new UsageError(`--retries must be an integer >= 0, got ${options.retries}`);
  if (!Number.isSafeInteger(options.seed)) throw new UsageError(`--seed must be an integer, got ${options.seed}`);
  if (options.reference !== 'baseline' && options.reference !== 'model') {
    throw new UsageError(`--reference must be baseline or model, got "${options.reference}"`);
  }

  const scenarios: ScenarioPlan[] = [];
  const seen = new Set<string>();
  const add = (plan: ScenarioPlan): void => {
    if (seen.has(plan.name)) throw new UsageError(`scenario "${plan.name}" is listed twice`);
    seen.add(plan.name);
    scenarios.push(plan);
  };
  for (const name of options.scenarios) {
    if (name === CIFAR100_SCENARIO) add({ name, kind: 'cifar100' });
    else if (isTransformScenario(name)) add({ name, kind: 'transform' });
    else {
      throw new UsageError(
        `unknown scenario "${name}" in --scenarios; built-in scenarios: ${BUILT_IN_SCENARIOS.join(', ')} ` +
          '(your own images: --scenario name=<folder or .tar.gz>)',
      );
    }
  }
  for (const custom of options.customScenarios) {
    if (!SCENARIO_NAME_PATTERN.test(custom.name) || custom.source === '') {
      throw new UsageError(`--scenario expects name=<folder or .tar.gz> with a name of letters, digits, _ . -; got "${custom.name}=${custom.source}"`);
    }
    if ((BUILT_IN_SCENARIOS as string[]).includes(custom.name)) {
      throw new UsageError(`--scenario ${custom.name}=... clashes with the built-in scenario of that name; pick another name`);
    }
    add({ name: custom.name, kind: 'folder', source: custom.source });
  }
  if (scenarios.length === 0) throw new UsageError('no scenarios to run: give --scenarios and/or --scenario name=<folder>');
  if (options.reference === 'baseline' && !seen.has(BASELINE_SCENARIO)) {
    throw new UsageError(
      `--reference baseline compares every scenario with the ${BASELINE_SCENARIO} replay: add ${BASELINE_SCENARIO} to --scenarios, ` +
        "or use --reference model (the profile saved with the model)",
    );
  }

  const localSources: [string, string | undefined][] = [
    ['--model', options.modelPath],
    ['--data (or MLDEPLOY_CIFAR10)', scenarios.some((s) => s.kind === 'transform') ? options.data : undefined],
    ['--cifar100 (or MLDEPLOY_CIFAR100)', seen.has(CIFAR100_SCENARIO) ? options.cifar100 : undefined],
    ...scenarios.filter((s) => s.kind === 'folder').map((s): [string, string] => [`--scenario ${s.name}=`, s.source!]),
  ];
  for (const [flag, source] of localSources) {
    if (source !== undefined && !isUrl(source) && !existsSync(source)) throw new UsageError(`${flag} ${source}: no such file or folder`);
  }

  const rules = options.failOn.map(parseRule);
  for (const rule of rules) {
    if (rule.scenario !== null && !seen.has(rule.scenario)) {
      throw new UsageError(
        `--fail-on rule "${rule.text}" names scenario "${rule.scenario}", which this run does not have (scenarios: ${[...seen].join(', ')})`,
      );
    }
  }
  return { scenarios, rules, url };
}

function positiveInteger(value: number, flag: string): void {
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`${flag} must be a positive integer, got ${value}`);
}

/** The whole drift run. Throws UsageError (exit 2) for bad options, a missing data source or an unreachable API. */
export async function runDrift(options: DriftOptions): Promise<DriftRun> {
  const started = performance.now();
  const plan = validateDriftOptions(options);
  const progress = options.onProgress ?? (() => undefined);

  const sources = await loadSources(plan, options, progress);

  let logDir: string | null = null;
  let server: { url: string; close(): Promise<void> } | null = null;
  try {
    let url = plan.url;
    if (url === null) {
      progress({ type: 'stage', message: `starting a server for ${options.modelPath}` });
      logDir = await fs.mkdtemp(path.join(os.tmpdir(), 'mldeploy-drift-'));
      server = await startServer({ modelPath: options.modelPath!, port: 0, host: '127.0.0.1', workers: 1, logDir, logLevel: 'silent' });
      url = server.url;
    }
    const client = new PredictClient({ url, apiKey: options.apiKey, timeoutMs: options.timeoutMs, retries: options.retries });
    const info = await client.probe();
    progress({ type: 'stage', message: `replaying against ${client.url} (model ${info.version ?? 'unknown'}, classes: ${info.class_names.length})` });
    const profile = options.reference === 'model' ? await fetchReferenceProfile(client) : null;
    const scenarios = await buildScenarioImages(plan, sources, info, options);

    const replays: { scenario: ScenarioImages; outcome: ReplayOutcome }[] = [];
    for (const scenario of scenarios) {
      progress({ type: 'replay-start', scenario: scenario.name, total: scenario.images.count });
      const outcome = await replayImages(client, scenario.images, options.concurrency, (p) =>
        progress({ type: 'replay', scenario: scenario.name, ...p }),
      );
      progress({ type: 'replay-end', scenario: scenario.name, total: scenario.images.count, failed: outcome.failed, durationS: outcome.durationS });
      replays.push({ scenario, outcome });
    }

    const result = assembleResult(options, plan, info, profile, client.url, replays, (performance.now() - started) / 1000);
    const files = await writeOutputs(result, options);
    return { result, files };
  } finally {
    if (server) await server.close();
    if (logDir) await fs.rm(logDir, { recursive: true, force: true });
  }
}

interface LoadedSources {
  cifar10: { test: ImageSet; classNames: string[]; source: string } | null;
  cifar100: { test: ImageSet; source: string } | null;
  folders: Map<string, { images: ImageSet; classNames: string[]; labelled: boolean }>;
}

/** Loads every scenario's images before any server is contacted, so a missing source stops the run early. */
async function loadSources(plan: ValidatedPlan, options: DriftOptions, progress: (event: DriftProgress) => void): Promise<LoadedSources> {
  const sources: LoadedSources = { cifar10: null, cifar100: null, folders: new Map() };
  if (plan.scenarios.some((s) => s.kind === 'cifar100')) {
    progress({ type: 'stage', message: 'loading CIFAR-100 test images' });
    try {
      const loaded = await loadCifar100({
        source: options.cifar100,
        dataDir: options.dataDir,
        officialArchive: options.cifar100Archive,
        onProgress: (p) => progress({ type: 'data', dataset: 'CIFAR-100', progress: p }),
      });
      sources.cifar100 = { test: loaded.test, source: loaded.source };
    } catch (err) {
      if (!(err instanceof Cifar100UnavailableError)) throw err;
      throw new UsageError(
        `the ${CIFAR100_SCENARIO} scenario needs CIFAR-100 (${err.message}) ` +
          `Give --cifar100 <archive or folder> or set MLDEPLOY_CIFAR100, or leave ${CIFAR100_SCENARIO} out of --scenarios ` +
          '(e.g. --scenarios clean,noisy,very_noisy). Nothing was replayed.',
      );
    }
  }
  if (plan.scenarios.some((s) => s.kind === 'transform')) {
    progress({ type: 'stage', message: 'loading CIFAR-10 test images' });
    const loaded = await loadCifar10({
      source: options.data,
      dataDir: options.dataDir,
      onProgress: (p) => progress({ type: 'data', dataset: 'CIFAR-10', progress: p }),
    }).catch((err: unknown) => {
      // Its message already names --data and MLDEPLOY_CIFAR10; for a gate, a missing source is a usage problem.
      throw err instanceof DatasetUnavailableError ? new UsageError(`${err.message} Nothing was replayed.`) : err;
    });
    sources.cifar10 = { test: loaded.test, classNames: loaded.classNames, source: loaded.source };
  }
  for (const scenario of plan.scenarios) {
    if (scenario.kind !== 'folder') continue;
    progress({ type: 'stage', message: `loading ${scenario.name} images from ${scenario.source}` });
    const folder = await loadImageFolder(scenario.source!);
    sources.folders.set(scenario.name, { images: folder.images, classNames: folder.classNames, labelled: folder.labelled });
  }
  return sources;
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

/** Samples each scenario's images (same CIFAR-10 sample under every transform, so only the transform differs). */
async function buildScenarioImages(plan: ValidatedPlan, sources: LoadedSources, info: ModelInfo, options: DriftOptions): Promise<ScenarioImages[]> {
  const modelClasses = new Set(info.class_names);
  const namesOf = (labels: Uint8Array, classNames: string[]): string[] => Array.from(labels, (label) => classNames[label]);
  const base = sources.cifar10 ? sampleImages(sources.cifar10.test, Math.min(options.samples, sources.cifar10.test.count), options.seed) : null;
  const out: ScenarioImages[] = [];
  for (const scenario of plan.scenarios) {
    if (scenario.kind === 'transform') {
      const cifar10 = sources.cifar10!;
      const images = await applyScenario(scenario.name, base!, options.seed);
      const labelled = cifar10.classNames.every((name) => modelClasses.has(name));
      out.push({
        name: scenario.name,
        source: `CIFAR-10 test images (${cifar10.source}): ${SCENARIOS[scenario.name as keyof typeof SCENARIOS].description}`,
        images,
        trueLabels: labelled ? namesOf(images.labels, cifar10.classNames) : null,
      });
    } else if (scenario.kind === 'cifar100') {
      const cifar100 = sources.cifar100!;
      out.push({
        name: scenario.name,
        source: `CIFAR-100 test images (${cifar100.source}); no CIFAR-10 labels, never scored`,
        images: sampleImages(cifar100.test, Math.min(options.samples, cifar100.test.count), options.seed),
        trueLabels: null,
      });
    } else {
      const folder = sources.folders.get(scenario.name)!;
      const images = sampleImages(folder.images, Math.min(options.samples, folder.images.count), options.seed);
      // Labelled only when every folder name is one of the model's classes.
      const labelled = folder.labelled && folder.classNames.every((name) => modelClasses.has(name));
      out.push({
        name: scenario.name,
        source: `${scenario.source} (${labelled ? 'labelled by folder name' : 'unlabelled'})`,
        images,
        trueLabels: labelled ? namesOf(images.labels, folder.classNames) : null,
      });
    }
  }
  return out;
}

function assembleResult(
  options: DriftOptions,
  plan: ValidatedPlan,
  info: ModelInfo,
  profile: ReferenceProfile | null,
  url: string,
  replays: { scenario: ScenarioImages; outcome: ReplayOutcome }[],
  durationS: number,
): DriftResult {
  const classNames = info.class_names;
  const measured = replays.map(({ scenario, outcome }) => ({
    scenario,
    outcome,
    signals: signalsOf(scenario.images, outcome, classNames),
  }));

  const baselineName = options.reference === 'baseline' ? BASELINE_SCENARIO : null;
  let reference: Signals;
  let referenceAccuracy: number | null;
  if (profile) {
    reference = signalsOfProfile(profile, classNames);
    referenceAccuracy = info.test_accuracy;
  } else {
    const baseline = measured.find((m) => m.scenario.name === BASELINE_SCENARIO)!;
    if (baseline.signals.values.confidence.length === 0) {
      throw new MldeployError(
        `every request of the ${BASELINE_SCENARIO} (reference) scenario failed (${describeErrors(baseline.outcome.errors)}); ` +
          'no drift can be measured against it',
      );
    }
    reference = baseline.signals;
    referenceAccuracy = accuracyOf(baseline.scenario, baseline.outcome);
  }

  const scenarios: ScenarioResult[] = measured.map(({ scenario, outcome, signals }) => {
    const isReference = scenario.name === baselineName;
    const accuracy = accuracyOf(scenario, outcome);
    const accuracyDrop = isReference || accuracy === null || referenceAccuracy === null ? null : referenceAccuracy - accuracy;
    const drift = isReference || signals.values.confidence.length === 0 ? null : driftBetween(reference, signals);
    const succeeded = scenario.images.count - outcome.failed;
    const successRate = scenario.images.count === 0 ? 0 : succeeded / scenario.images.count;
    const confidences = signals.values.confidence;
    const imageStats = Object.fromEntries(IMAGE_SIGNALS.map((signal) => [signal, meanAndStd(signals.values[signal])]));
    return {
      name: scenario.name,
      source: scenario.source,
      samples: scenario.images.count,
      labelled: scenario.trueLabels !== null,
      accuracy,
      accuracy_drop: accuracyDrop,
      mean_confidence: confidences.length === 0 ? null : mean(confidences),
      success_rate: successRate,
      requests: { succeeded, failed: outcome.failed, retries: outcome.retries, errors: outcome.errors },
      latency_ms: {
        p50: percentile(outcome.latenciesMs, 0.5),
        p95: percentile(outcome.latenciesMs, 0.95),
        p99: percentile(outcome.latenciesMs, 0.99),
      },
      throughput_rps: outcome.durationS > 0 ? succeeded / outcome.durationS : 0,
      duration_s: outcome.durationS,
      class_distribution: Object.fromEntries(classNames.map((name, i) => [name, succeeded === 0 ? 0 : signals.classCounts[i] / succeeded])),
      class_counts: Object.fromEntries(classNames.map((name, i) => [name, signals.classCounts[i]])),
      confidence_histogram: histogramOf(confidences),
      input_stats: imageStats,
      predictions: outcome.predictions,
      true_labels: scenario.trueLabels,
      confidences: outcome.confidences,
      drift,
      recommendations: recommendationsFor({
        isReference,
        labelled: scenario.trueLabels !== null,
        successRate,
        failed: outcome.failed,
        errors: outcome.errors,
        accuracyDrop,
        drift,
      }),
    };
  });

  const gate = evaluateRules(
    plan.rules,
    scenarios.map((s) => ({ name: s.name, metrics: ruleMetricsOf(s) })),
    baselineName,
  );
  const referenceCounts = reference.classCounts;
  const referenceTotal = referenceCounts.reduce((a, b) => a + b, 0);
  return parseDriftResult({
    schema_version: DRIFT_RESULT_SCHEMA_VERSION,
    generated_at: new Date().toISOString(),
    target: {
      url,
      mode: options.url !== undefined ? 'url' : 'model',
      model_version: info.version,
      model_type: info.model_type,
      class_names: classNames,
    },
    config: {
      samples: options.samples,
      seed: options.seed,
      concurrency: options.concurrency,
      timeout_ms: options.timeoutMs,
      retries: options.retries,
      psi_bins: PSI_BINS,
    },
    reference: {
      kind: options.reference,
      scenario: baselineName,
      samples: reference.values.confidence.length,
      confidence_histogram: histogramOf(reference.values.confidence),
      class_distribution: Object.fromEntries(classNames.map((name, i) => [name, referenceTotal === 0 ? 0 : referenceCounts[i] / referenceTotal])),
    },
    scenarios,
    gate,
    duration_s: durationS,
  });
}

function ruleMetricsOf(s: ScenarioResult): ScenarioMetrics {
  return {
    psi: s.drift?.psi_max ?? null,
    psi_confidence: s.drift?.psi.confidence ?? null,
    psi_class: s.drift?.psi.class ?? null,
    accuracy: s.accuracy,
    accuracy_drop: s.accuracy_drop,
    mean_confidence: s.mean_confidence,
    ks: s.drift?.ks.confidence.statistic ?? null,
    ks_p: s.drift?.ks.confidence.p_value ?? null,
    success_rate: s.success_rate,
    p50_ms: s.latency_ms.p50,
    p95_ms: s.latency_ms.p95,
    p99_ms: s.latency_ms.p99,
  };
}

function signalsOf(images: ImageSet, outcome: ReplayOutcome, classNames: string[]): Signals {
  const stats = batchImageStats(images.pixels, images.count);
  const classIndex = new Map(classNames.map((name, i) => [name, i]));
  const classCounts = new Array<number>(classNames.length).fill(0);
  const confidence: number[] = [];
  outcome.predictions.forEach((predicted, i) => {
    if (predicted === null) return;
    const index = classIndex.get(predicted);
    if (index !== undefined) classCounts[index] += 1;
    confidence.push(outcome.confidences[i]!);
  });
  return { values: { confidence, ...stats }, classCounts };
}

function signalsOfProfile(profile: ReferenceProfile, classNames: string[]): Signals {
  const values = Object.fromEntries(DRIFT_SIGNALS.map((signal) => [signal, profile.signals[signal] ?? []])) as Signals['values'];
  return { values, classCounts: classNames.map((name) => profile.predicted_class_counts[name] ?? 0) };
}

/** PSI on every signal and the class distribution, KS on every signal, chi-square on class counts. */
function driftBetween(reference: Signals, current: Signals): ScenarioDrift {
  const psi: Record<string, number> = {};
  const ks: ScenarioDrift['ks'] = {};
  psi.class = psiCategorical(reference.classCounts, current.classCounts);
  for (const signal of DRIFT_SIGNALS) {
    const ref = reference.values[signal];
    const cur = current.values[signal];
    // A model profile may lack a signal; compare only what both sides have.
    if (ref.length === 0 || cur.length === 0) continue;
    psi[signal] = psiContinuous(ref, cur, PSI_BINS);
    const test = ksTwoSample(ref, cur);
    ks[signal] = { statistic: test.statistic, p_value: test.p_value };
  }
  const [maxSignal, maxValue] = Object.entries(psi).reduce((best, entry) => (entry[1] > best[1] ? entry : best));
  const chi = chiSquare(reference.classCounts, current.classCounts);
  return {
    psi,
    psi_max: maxValue,
    psi_max_signal: maxSignal,
    verdict: psiLevel(maxValue),
    ks,
    chi2: { statistic: chi.statistic, p_value: chi.p_value, dof: chi.dof },
  };
}

function accuracyOf(scenario: ScenarioImages, outcome: ReplayOutcome): number | null {
  if (scenario.trueLabels === null) return null;
  let answered = 0;
  let correct = 0;
  outcome.predictions.forEach((predicted, i) => {
    if (predicted === null) return;
    answered += 1;
    if (predicted === scenario.trueLabels![i]) correct += 1;
  });
  return answered === 0 ? null : correct / answered;
}

function histogramOf(values: number[]): ConfidenceHistogram {
  const bins = HISTOGRAM_EDGES.length - 1;
  const counts = new Array<number>(bins).fill(0);
  for (const value of values) counts[Math.min(bins - 1, Math.max(0, Math.floor(value * bins)))] += 1;
  return { bin_edges: HISTOGRAM_EDGES, counts, fractions: counts.map((c) => (values.length === 0 ? 0 : c / values.length)) };
}

/** numpy's default percentile (linear between closest ranks); null for no values. */
function percentile(values: number[], q: number): number | null {
  if (values.length === 0) return null;
  return quantileOfSorted(Float64Array.from(values).sort(), q);
}

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

function meanAndStd(values: number[]): { mean: number; std: number } {
  if (values.length === 0) return { mean: 0, std: 0 };
  const m = mean(values);
  return { mean: m, std: Math.sqrt(values.reduce((acc, v) => acc + (v - m) ** 2, 0) / values.length) };
}

function describeErrors(errors: Record<string, number>): string {
  return Object.entries(errors)
    .map(([cause, count]) => `${cause} x${count}`)
    .join(', ');
}

async function writeOutputs(result: DriftResult, options: DriftOptions): Promise<DriftRun['files']> {
  const files = {
    json: path.join(options.outDir, OUTPUT_FILES.json),
    text: path.join(options.outDir, OUTPUT_FILES.text),
    html: path.join(options.outDir, OUTPUT_FILES.html),
    chart: path.join(options.plotsDir, OUTPUT_FILES.chart),
  };
  const chart = renderDriftChart(result);
  await writeFileAtomic(files.json, JSON.stringify(result, null, 2) + '\n');
  await writeFileAtomic(files.text, renderDriftText(result));
  await writeFileAtomic(files.chart, chart);
  await writeFileAtomic(files.html, renderDriftHtml(result, chart));
  return files;
}
