/**
 * The images each scenario replays: every source is loaded before any server is contacted
 * (so a missing source stops the run early), then sampled per scenario.
 */
import { loadCifar10 } from '../data/cifar10';
import { Cifar100UnavailableError, loadCifar100 } from '../data/cifar100';
import { loadImageFolder } from '../data/image-folder';
import { DatasetUnavailableError } from '../data/official';
import { sampleImages } from '../data/sample';
import type { CalibrationRecord } from '../model/metadata';
import type { ImageSet } from '../data/types';
import { UsageError } from '../errors';
import { CIFAR100_SCENARIO, DriftOptions, DriftProgress, ValidatedPlan } from './options';
import { imagesOutsideCalibration } from './model-calibration';
import { applyScenario, describeScenario } from './scenarios';

export interface LoadedSources {
  cifar10: { test: ImageSet; classNames: string[]; source: string } | null;
  cifar100: { test: ImageSet; source: string } | null;
  folders: Map<string, { images: ImageSet; classNames: string[]; labelled: boolean }>;
}

export interface ScenarioImages {
  name: string;
  source: string;
  images: ImageSet;
  /** True class name per image; null when unlabelled for this model. */
  trueLabels: string[] | null;
}

/** Loads every scenario's images; a source that cannot be had is a UsageError (nothing replayed yet). */
export async function loadSources(plan: ValidatedPlan, options: DriftOptions, progress: (event: DriftProgress) => void): Promise<LoadedSources> {
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

/**
 * Samples each scenario's images (same CIFAR-10 sample under every transform, so only the
 * transform differs). CIFAR-10 images come from the test images the model's calibration did not
 * use, so neither the detector's model reference nor the estimators have seen them.
 */
export async function buildScenarioImages(
  plan: ValidatedPlan,
  sources: LoadedSources,
  modelClassNames: string[],
  options: Pick<DriftOptions, 'samples' | 'seed'>,
  calibration: CalibrationRecord | null = null,
): Promise<ScenarioImages[]> {
  const modelClasses = new Set(modelClassNames);
  const namesOf = (labels: Uint8Array, classNames: string[]): string[] => Array.from(labels, (label) => classNames[label]);
  const pool = sources.cifar10 ? imagesOutsideCalibration(sources.cifar10.test, calibration) : null;
  const base = pool ? sampleImages(pool.images, Math.min(options.samples, pool.images.count), options.seed) : null;
  const poolNote = pool && pool.excluded > 0 ? `, outside the ${pool.excluded} the model's calibration used` : '';
  const out: ScenarioImages[] = [];
  for (const scenario of plan.scenarios) {
    if (scenario.kind === 'transform') {
      const cifar10 = sources.cifar10!;
      const images = await applyScenario(scenario.name, base!, options.seed);
      const labelled = cifar10.classNames.every((name) => modelClasses.has(name));
      out.push({
        name: scenario.name,
        source: `CIFAR-10 test images (${cifar10.source}${poolNote}): ${describeScenario(scenario.name)}`,
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
