/**
 * What a drift run is asked to do, and the check of all of it before anything is loaded or
 * sent: every bad option, rule or scenario name is a UsageError (exit 2) here.
 */
import { existsSync } from 'node:fs';
import { isUrl, type OfficialArchive } from '../data/official';
import type { DataProgress } from '../data/types';
import { UsageError } from '../errors';
import type { ServingBackendChoice } from '../model/onnx/serving';
import { DEFAULT_ALPHA } from './detect/shift';
import { Rule, SCENARIO_NAME_PATTERN, checkRuleScenarios, parseRule } from './rules';
import { TRANSFORM_SCENARIO_NAMES, isTransformScenario } from './scenarios';

export const BASELINE_SCENARIO = 'clean';
export const CIFAR100_SCENARIO = 'cifar100';
export const DEFAULT_SCENARIOS = ['clean', 'noisy', 'very_noisy', 'cifar100'];
export const DEFAULT_SAMPLES = 1000;
export const DEFAULT_CONCURRENCY = 16;
export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_RETRIES = 2;
export const DEFAULT_SEED = 42;
/** A scenario answered less often than this fails the gate whatever the rules say. */
export const DEFAULT_MIN_SUCCESS_RATE = 0.99;
/** Every scenario name that needs no --scenario source. */
export const BUILT_IN_SCENARIOS = [...TRANSFORM_SCENARIO_NAMES, CIFAR100_SCENARIO];

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
  /** Engine of that in-process server (serve's --backend; default auto). */
  backend?: ServingBackendChoice;
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
  reference: 'baseline' | 'model';
  failOn: string[];
  /** Family-wise false-alarm rate of the shift detector, 0..1 exclusive; default 0.05. */
  alpha?: number;
  /** 0..1; default {@link DEFAULT_MIN_SUCCESS_RATE}. */
  minSuccessRate?: number;
  /** Bound on the whole run in seconds; what was measured by then is reported as incomplete. */
  deadlineS?: number;
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

export interface ScenarioPlan {
  name: string;
  kind: 'transform' | 'cifar100' | 'folder';
  source?: string;
}

export interface ValidatedPlan {
  scenarios: ScenarioPlan[];
  rules: Rule[];
  url: string | null;
  minSuccessRate: number;
  deadlineS: number | null;
  alpha: number;
}

/** Checks every option, rule and scenario name; throws UsageError before anything is loaded or sent. */
export function validateDriftOptions(options: DriftOptions): ValidatedPlan {
  if ((options.url === undefined) === (options.modelPath === undefined)) {
    throw new UsageError(
      'give exactly one of --url <http://host:port> (a running server) or --model <path> (serve that model for this run)',
    );
  }
  const url = options.url === undefined ? null : checkUrl(options.url);
  positiveInteger(options.samples, '--samples');
  positiveInteger(options.concurrency, '--concurrency');
  positiveInteger(options.timeoutMs, '--timeout-ms');
  if (!Number.isInteger(options.retries) || options.retries < 0) throw new UsageError(`--retries must be an integer >= 0, got ${options.retries}`);
  if (!Number.isSafeInteger(options.seed)) throw new UsageError(`--seed must be an integer, got ${options.seed}`);
  if (options.reference !== 'baseline' && options.reference !== 'model') {
    throw new UsageError(`--reference must be baseline or model, got "${options.reference}"`);
  }
  const minSuccessRate = options.minSuccessRate ?? DEFAULT_MIN_SUCCESS_RATE;
  if (!(minSuccessRate >= 0 && minSuccessRate <= 1)) throw new UsageError(`--min-success-rate must be between 0 and 1, got ${minSuccessRate}`);
  const deadlineS = options.deadlineS ?? null;
  if (deadlineS !== null && !(deadlineS > 0 && Number.isFinite(deadlineS))) {
    throw new UsageError(`--deadline must be a number of seconds > 0, got ${deadlineS}`);
  }

  const alpha = options.alpha ?? DEFAULT_ALPHA;
  if (!(alpha > 0 && alpha < 1)) throw new UsageError(`--alpha must be between 0 and 1 (exclusive), got ${alpha}`);

  const scenarios = planScenarios(options);
  const names = scenarios.map((s) => s.name);
  if (options.reference === 'baseline' && !names.includes(BASELINE_SCENARIO)) {
    throw new UsageError(
      `--reference baseline compares every scenario with the ${BASELINE_SCENARIO} replay: add ${BASELINE_SCENARIO} to --scenarios, ` +
        "or use --reference model (the profile saved with the model)",
    );
  }
  checkLocalSources(options, scenarios);
  const rules = options.failOn.map(parseRule);
  checkRuleScenarios(rules, names);
  return { scenarios, rules, url, minSuccessRate, deadlineS, alpha };
}

function checkUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`--url "${url}" is not a URL; expected e.g. http://127.0.0.1:8000`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new UsageError(`--url must be http:// or https://, got "${url}"`);
  }
  return url;
}

/** Built-in scenarios in --scenarios order, then the --scenario ones; names unique. */
function planScenarios(options: DriftOptions): ScenarioPlan[] {
  const scenarios: ScenarioPlan[] = [];
  const add = (plan: ScenarioPlan): void => {
    if (scenarios.some((s) => s.name === plan.name)) throw new UsageError(`scenario "${plan.name}" is listed twice`);
    scenarios.push(plan);
  };
  for (const name of options.scenarios) {
    if (name === CIFAR100_SCENARIO) add({ name, kind: 'cifar100' });
    else if (isTransformScenario(name)) add({ name, kind: 'transform' });
    else {
      throw new UsageError(
        `unknown scenario "${name}" in --scenarios; built-in scenarios: ${BUILT_IN_SCENARIOS.join(', ')}, ` +
          'the CIFAR-10-C corruptions <corruption>:<1-5> and the Failing Loudly shifts (listed in mldeploy drift --help) ' +
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
  return scenarios;
}

/** Every local path the run will read exists (URLs are fetched later). */
function checkLocalSources(options: DriftOptions, scenarios: ScenarioPlan[]): void {
  const localSources: [string, string | undefined][] = [
    ['--model', options.modelPath],
    ['--data (or MLDEPLOY_CIFAR10)', scenarios.some((s) => s.kind === 'transform') ? options.data : undefined],
    ['--cifar100 (or MLDEPLOY_CIFAR100)', scenarios.some((s) => s.kind === 'cifar100') ? options.cifar100 : undefined],
    ...scenarios.filter((s) => s.kind === 'folder').map((s): [string, string] => [`--scenario ${s.name}=`, s.source!]),
  ];
  for (const [flag, source] of localSources) {
    if (source !== undefined && !isUrl(source) && !existsSync(source)) throw new UsageError(`${flag} ${source}: no such file or folder`);
  }
}

function positiveInteger(value: number, flag: string): void {
  if (!Number.isInteger(value) || value < 1) throw new UsageError(`${flag} must be a positive integer, got ${value}`);
}
