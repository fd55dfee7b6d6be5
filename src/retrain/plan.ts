/**
 * Step 2 of `mldeploy retrain`: what to add to the training data for each drifted scenario.
 * A drift the corruption library can reproduce (`<corruption>:<severity>`, the workshop's
 * noisy/blur/... scenarios, Failing Loudly's noise and affine transforms) becomes that transform
 * applied to extra copies of a share of the training images (CIFAR-10-C severities: the drifted
 * one and its neighbours). What augmentation cannot answer (new classes, a label shift, a folder of
 * other images, the clean set itself) is listed with the reason, never dropped. A live window
 * names no scenario: the input statistics whose tests fired choose from a general set. Pure.
 */
import { SEVERITIES } from '../data/corruptions/cifar10c';
import { isShiftName } from '../data/corruptions';
import { isTransformScenario } from '../drift/scenarios';
import { UsageError } from '../errors';
import type { DriftedScenario } from './decide';
import { LIVE_SCENARIO } from './decide';

export interface Augmentation {
  /** The drifted scenario this answers. */
  for_scenario: string;
  /** Scenario names (src/drift/scenarios.ts) applied to the extra copies, drawn uniformly. */
  transforms: string[];
  /** The scenario candidate and stable are compared on for it. */
  evaluate_on: string;
}

export interface Unaddressable {
  scenario: string;
  reason: string;
}

export interface AugmentationPlan {
  /** Extra augmented copies, as a share of the training images (0.5: 50 % more images per epoch). */
  share: number;
  augmentations: Augmentation[];
  unaddressable: Unaddressable[];
}

export const DEFAULT_SHARE = 0.5;

/**
 * Used when a live window drifted: noise, blur, brightness and contrast at CIFAR-10-C severities
 * 1-3, each keyed by the input statistic whose test points at it. Softmax-only detections (no input
 * test fired) get all four.
 */
export const GENERAL_AUGMENTATIONS = [
  { corruption: 'gaussian_noise', signals: ['noise'] },
  { corruption: 'gaussian_blur', signals: ['noise'] },
  { corruption: 'brightness', signals: ['brightness', 'mean_r', 'mean_g', 'mean_b'] },
  { corruption: 'contrast', signals: ['std_r', 'std_g', 'std_b'] },
] as const;
const GENERAL_SEVERITIES = [1, 2, 3];
const GENERAL_EVALUATE_SEVERITY = 2;

export function planAugmentations(drifted: DriftedScenario[], share: number = DEFAULT_SHARE): AugmentationPlan {
  if (!(share > 0 && share <= 4)) throw new UsageError(`--share must be above 0 and at most 4 (extra copies per training image), got ${share}`);
  const augmentations: Augmentation[] = [];
  const unaddressable: Unaddressable[] = [];
  for (const scenario of drifted) {
    if (scenario.name === LIVE_SCENARIO) {
      augmentations.push(...liveAugmentations(scenario.fired_signals));
      continue;
    }
    const reason = whyNotAddressable(scenario.name);
    if (reason !== null) unaddressable.push({ scenario: scenario.name, reason });
    else augmentations.push({ for_scenario: scenario.name, transforms: transformsFor(scenario.name), evaluate_on: scenario.name });
  }
  return { share, augmentations, unaddressable };
}

/** Why training on transformed copies cannot fix this scenario; null when it can. */
function whyNotAddressable(name: string): string | null {
  if (name === 'clean') return 'the clean test images drifted from nothing: a clean-data problem (more data, epochs or capacity), not a shift augmentation answers';
  if (name === 'cifar100') return 'new classes (CIFAR-100 images belong to none of the model\'s classes): augmentation cannot teach them; collect labelled data or reject out-of-distribution inputs';
  if (name.startsWith('knockout_class0:')) return 'a label shift (fewer class-0 images), not an input change: reweight the classes or recalibrate the priors';
  if (!isTransformScenario(name)) return 'a data source (its own images), not a transform of the training images: add such images to the training data';
  return null;
}

/** The transforms for a drifted transform scenario: CIFAR-10-C severities s-1..s+1, noise on every copy, others as they are. */
function transformsFor(name: string): string[] {
  const [kind, level] = name.split(':');
  if (isShiftName(name) && (SEVERITIES as readonly number[]).includes(Number(level))) {
    const s = Number(level);
    return SEVERITIES.filter((v) => Math.abs(v - s) <= 1).map((v) => `${kind}:${v}`);
  }
  // Failing Loudly noise hits a share of the images; every augmented copy gets it here.
  if (kind.startsWith('noise_std')) return [`${kind}:100%`];
  return [name];
}

function liveAugmentations(firedSignals: string[]): Augmentation[] {
  const matching = GENERAL_AUGMENTATIONS.filter((a) => a.signals.some((s) => firedSignals.includes(s)));
  return (matching.length > 0 ? matching : GENERAL_AUGMENTATIONS).map((a) => ({
    for_scenario: LIVE_SCENARIO,
    transforms: GENERAL_SEVERITIES.map((s) => `${a.corruption}:${s}`),
    evaluate_on: `${a.corruption}:${GENERAL_EVALUATE_SEVERITY}`,
  }));
}
