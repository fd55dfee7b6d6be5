/**
 * One `mldeploy retrain` as a library call: decide (what drifted) -> plan (which augmentations)
 * -> train a candidate with the stable version's recipe on the augmented images through
 * runTraining -> record the retrain in its metadata -> compare it with stable, clean and per
 * drifted scenario -> label it `canary` only when it is not worse. Prints nothing.
 *
 * Nothing half-written: the candidate appears as a complete version (runTraining's temp dir +
 * rename) or not at all; the augmented images live in a temp dir removed in every case. When the
 * models dir has no `stable` label, the compared version is labelled stable before training, so the
 * candidate becoming `latest` changes nothing that serve serves.
 */
import { promises as fs, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadCifar10 } from '../data/cifar10';
import { sampleImages, sliceImages, splitValidation } from '../data/sample';
import type { ImageSet, LoadedDataset } from '../data/types';
import { DataError, ModelError, UsageError } from '../errors';
import { METADATA_FILE, completeVersions, loadModelVersion, readMetadata } from '../model/artifacts';
import type { BackendChoice } from '../model/engine';
import type { ModelMetadata } from '../model/metadata';
import { setLabel, STABLE_LABEL } from '../model/registry/changes';
import { readLabels } from '../model/registry/store';
import { latestVersion, requireModelsDir } from '../model/registry/versions';
import { runTraining, type TrainRunEvent, type TrainRunResult } from '../model/train-run';
import { writeFileAtomic } from '../util/atomic-write';
import { requireInteger } from '../util/validation';
import { augmentImages, concatImages } from './augment';
import { compareModels, percent, requireTolerance, type Comparison } from './compare';
import { decideFromLive, decideFromLog, parseIfRules, type DriftDecision } from './decide';
import { planAugmentations, type AugmentationPlan } from './plan';
import { recipeOf, type Recipe } from './recipe';
import { fetchLiveMonitoring, readDriftLog } from './sources';
import { writeTrainingSource } from './training-source';

export const CANARY_LABEL = 'canary';
export const RETRAIN_RESULT_SCHEMA_VERSION = 1;
export const DEFAULT_COMPARE_SAMPLES = 2000;

export interface RetrainOptions {
  driftLog?: string;
  url?: string;
  apiKey?: string;
  /** --if rules; empty: the drift source's own verdicts. */
  ifRules: string[];
  modelsDir: string;
  /** Dataset source; default: the stable version's metadata.dataset.source. */
  data?: string;
  dataDir: string;
  epochs?: number;
  batchSize?: number;
  limit?: number;
  share: number;
  /** Test images compared on (a seeded sample when fewer than the test set). */
  samples: number;
  tolerance: number;
  backend: BackendChoice;
  workers?: number;
  dryRun: boolean;
  onEvent?: (event: RetrainEvent) => void;
}

export type RetrainEvent =
  | { type: 'plan'; result: RetrainResult }
  | { type: 'stage'; stage: 'loading data' | 'augmenting' | 'comparing' }
  | { type: 'training'; event: TrainRunEvent };

/**
 * `no-retrain`: nothing drifted; `unaddressable`: drift that no augmentation answers; `dry-run`:
 * planned only; `canary`: trained, not worse, labelled; `worse`: trained, kept unlabelled.
 */
export type RetrainOutcome = 'no-retrain' | 'unaddressable' | 'dry-run' | 'canary' | 'worse';

export interface RetrainResult {
  schema_version: typeof RETRAIN_RESULT_SCHEMA_VERSION;
  outcome: RetrainOutcome;
  decision: DriftDecision;
  /** The version compared against (stable label, else latest; with --url the served one). */
  stable: { version: string; test_accuracy: number; pinned_stable_label: boolean } | null;
  recipe: Recipe | null;
  plan: AugmentationPlan | null;
  candidate: { version: string; dir: string; train_images: number; augmented_copies: Record<string, number> } | null;
  comparison: Comparison | null;
  /** The canary label change (audit reason = the comparison), null when not labelled. */
  label: { label: string; version: string; reason: string } | null;
}

/** metadata.json `retrain`: where the candidate came from. */
export interface RetrainRecord {
  parent_version: string;
  recipe: Recipe;
  drift: DriftDecision['source'] & { rules: string[]; scenarios: string[] };
  share: number;
  augmentations: AugmentationPlan['augmentations'];
  unaddressable: AugmentationPlan['unaddressable'];
  augmented_copies: Record<string, number>;
  base_dataset: { source: string; digest: string };
}

export async function runRetrain(options: RetrainOptions): Promise<RetrainResult> {
  const emit = options.onEvent ?? (() => undefined);
  requireTolerance(options.tolerance);
  requireInteger('--samples', options.samples, 1);
  const rules = parseIfRules(options.ifRules);
  const decision = await decide(options, rules);
  const result: RetrainResult = {
    schema_version: RETRAIN_RESULT_SCHEMA_VERSION,
    outcome: 'no-retrain',
    decision,
    stable: null,
    recipe: null,
    plan: null,
    candidate: null,
    comparison: null,
    label: null,
  };
  if (decision.drifted.length === 0) return result;

  const plan = planAugmentations(decision.drifted, options.share);
  const { version: stableVersion, pinned } = await stableVersionOf(options.modelsDir, decision);
  const stableDir = path.join(options.modelsDir, stableVersion);
  const stableMetadata = await readMetadata(stableDir);
  const recipe = recipeOf(stableMetadata, { epochs: options.epochs, batch_size: options.batchSize, limit: options.limit });
  Object.assign(result, { plan, recipe, stable: { version: stableVersion, test_accuracy: stableMetadata.test_accuracy, pinned_stable_label: pinned } });
  result.outcome = plan.augmentations.length === 0 ? 'unaddressable' : 'dry-run';
  emit({ type: 'plan', result });
  if (result.outcome === 'unaddressable' || options.dryRun) return result;

  emit({ type: 'stage', stage: 'loading data' });
  const source = options.data ?? stableMetadata.dataset.source;
  const dataset = await loadCifar10({ source, dataDir: options.dataDir }).catch((err: unknown) => {
    if (options.data !== undefined || !(err instanceof DataError)) throw err;
    throw new DataError(`${err.message} (the dataset ${stableVersion} was trained on, from its metadata.json; pass --data)`);
  });
  if (dataset.classNames.join('\n') !== stableMetadata.class_names.join('\n')) {
    throw new DataError(`${source} has classes ${dataset.classNames.join(', ')}; ${stableVersion} was trained on ${stableMetadata.class_names.join(', ')}`);
  }
  const limited = recipe.limit === null ? dataset.train : sliceImages(dataset.train, 0, recipe.limit);
  const { train, validation } = splitValidation(limited, recipe.val_split);
  emit({ type: 'stage', stage: 'augmenting' });
  const augmented = await augmentImages(train, plan, recipe.seed);
  const trainingImages = concatImages([augmented.images, validation]);

  if (pinned) await setLabel(options.modelsDir, stableVersion, STABLE_LABEL, `retrain: pin the served version before a candidate becomes latest`);
  const trained = await trainCandidate(trainingImages, validation.count, dataset, recipe, options, emit);
  result.candidate = { version: trained.version, dir: trained.dir, train_images: trainingImages.count - validation.count, augmented_copies: augmented.copies };
  await recordRetrain(trained.dir, trained.metadata, {
    parent_version: stableVersion,
    recipe,
    drift: { ...decision.source, rules: decision.rules, scenarios: decision.drifted.map((d) => d.name) },
    share: plan.share,
    augmentations: plan.augmentations,
    unaddressable: plan.unaddressable,
    augmented_copies: augmented.copies,
    base_dataset: { source: dataset.source, digest: dataset.digest },
  });

  emit({ type: 'stage', stage: 'comparing' });
  const testImages = options.samples < dataset.test.count ? sampleImages(dataset.test, options.samples, recipe.seed) : dataset.test;
  const comparison = await compareVersions(stableDir, trained.dir, {
    test: testImages,
    classNames: dataset.classNames,
    scenarios: plan.augmentations.map((a) => a.evaluate_on),
    tolerance: options.tolerance,
    seed: recipe.seed,
  });
  result.comparison = comparison;
  if (!comparison.not_worse) {
    result.outcome = 'worse';
    return result;
  }
  const rows = comparison.rows.map((r) => `${r.scenario} ${percent(r.candidate)} vs ${percent(r.stable)} (required >= ${percent(r.required)})`);
  const reason = `retrain of ${stableVersion}, not worse (clean tolerance ${percent(comparison.tolerance)}): ${rows.join(', ')}`;
  await setLabel(options.modelsDir, trained.version, CANARY_LABEL, reason);
  result.label = { label: CANARY_LABEL, version: trained.version, reason };
  result.outcome = 'canary';
  return result;
}

/**
 * runTraining on the augmented images, written as a CIFAR-10 binary folder in a temp dir that is
 * removed whatever happens. The held-out images are the last `heldOut` ones, as the recipe split them.
 */
async function trainCandidate(
  images: ImageSet,
  heldOut: number,
  dataset: LoadedDataset,
  recipe: Recipe,
  options: RetrainOptions,
  emit: (event: RetrainEvent) => void,
): Promise<TrainRunResult> {
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'mldeploy-retrain-'));
  const releaseSignals = removeOnSignal(work);
  try {
    const dataRoot = await writeTrainingSource(path.join(work, 'data'), images, dataset.test, dataset.classNames);
    return await runTraining({
      data: dataRoot,
      dataDir: path.join(work, 'cache'),
      architecture: recipe.architecture,
      epochs: recipe.epochs,
      batchSize: recipe.batch_size,
      learningRate: recipe.learning_rate,
      seed: recipe.seed,
      valSplit: heldOut / images.count,
      modelsDir: options.modelsDir,
      backend: options.backend,
      workers: options.workers,
      onEvent: (event) => emit({ type: 'training', event }),
    });
  } finally {
    releaseSignals();
    await fs.rm(work, { recursive: true, force: true });
  }
}

const CLEANUP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

/**
 * Until released: on SIGINT or SIGTERM, removes `dir` (the augmented images, hundreds of MB on the
 * full set) and re-raises the signal, so Ctrl-C ends the run as before minus the leftovers.
 */
function removeOnSignal(dir: string): () => void {
  const onSignal = (signal: NodeJS.Signals) => {
    release();
    rmSync(dir, { recursive: true, force: true });
    process.kill(process.pid, signal);
  };
  const release = () => CLEANUP_SIGNALS.forEach((signal) => process.off(signal, onSignal));
  CLEANUP_SIGNALS.forEach((signal) => process.once(signal, onSignal));
  return release;
}

async function decide(options: RetrainOptions, rules: ReturnType<typeof parseIfRules>): Promise<DriftDecision> {
  if ((options.driftLog === undefined) === (options.url === undefined)) {
    throw new UsageError('give exactly one of --drift-log <performance_log.json> or --url <server>');
  }
  if (options.driftLog !== undefined) {
    const file = await readDriftLog(options.driftLog);
    return decideFromLog(file.log, rules, { path: file.path, sha256: file.sha256 });
  }
  return decideFromLive(await fetchLiveMonitoring(options.url!, options.apiKey), rules, options.url!);
}

/** The version to beat: the one the server serves (--url), else the stable label, else latest. */
async function stableVersionOf(modelsDir: string, decision: DriftDecision): Promise<{ version: string; pinned: boolean }> {
  requireModelsDir(modelsDir);
  const labelled = (await readLabels(modelsDir))[STABLE_LABEL] ?? null;
  const versions = completeVersions(modelsDir);
  const version = decision.source.kind === 'url' ? decision.model_version : (labelled ?? latestVersion(modelsDir) ?? versions[0] ?? null);
  if (version === null) throw new ModelError(`no stable or latest model in ${modelsDir} (run "mldeploy train" first)`);
  if (!versions.includes(version)) {
    throw new ModelError(`${decision.source.kind === 'url' ? `the server serves ${version}, which` : `stable version ${version}`} is not a complete version in ${modelsDir}`);
  }
  return { version, pinned: labelled === null };
}

/**
 * Adds the `retrain` record to the candidate's metadata.json (atomic replace; the schema passes
 * extra keys through). dataset.source becomes the base dataset (the temp folder trained from is
 * gone); dataset.digest stays that of the augmented images, retrain.base_dataset has the base's.
 */
async function recordRetrain(dir: string, metadata: ModelMetadata, retrain: RetrainRecord): Promise<void> {
  const updated = { ...metadata, dataset: { ...metadata.dataset, source: retrain.base_dataset.source }, retrain };
  await writeFileAtomic(path.join(dir, METADATA_FILE), JSON.stringify(updated, null, 2) + '\n');
}

async function compareVersions(
  stableDir: string,
  candidateDir: string,
  input: Omit<Parameters<typeof compareModels>[0], 'stable' | 'candidate'>,
): Promise<Comparison> {
  const stable = await loadModelVersion(stableDir);
  try {
    const candidate = await loadModelVersion(candidateDir);
    try {
      return await compareModels({ ...input, stable: stable.model, candidate: candidate.model });
    } finally {
      candidate.model.dispose();
    }
  } finally {
    stable.model.dispose();
  }
}
