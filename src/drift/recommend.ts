/**
 * Recommendations per scenario, derived from its measured figures so every report shows
 * the same advice: retrain, investigate input quality, roll back, or nothing to do.
 */
import { IMAGE_SIGNALS } from '../preprocess/image-stats';
import { describeCauses, type ScenarioDrift } from './result';

/** An accuracy loss above this (fraction) calls for action even without large PSI. */
const ACCURACY_DROP_ACTION = 0.05;
/** Below this share of answered requests the figures themselves are in doubt. */
const SUCCESS_RATE_ACTION = 0.99;

export interface RecommendationInput {
  isReference: boolean;
  labelled: boolean;
  successRate: number;
  failed: number;
  errors: Record<string, number>;
  accuracyDrop: number | null;
  /** The model's held-out accuracy minus the label-free estimate; null without one. */
  estimatedAccuracyDrop: number | null;
  drift: ScenarioDrift | null;
}

/** The deciding test of the shift detector, e.g. "ks(noise), corrected p 3.0e-7". */
function decidingTest(drift: ScenarioDrift): string {
  const test = drift.tests.reduce((best, t) => (t.corrected_p_value < best.corrected_p_value ? t : best));
  return `${test.name}, corrected p ${test.corrected_p_value.toPrecision(2)}`;
}

export function recommendationsFor(input: RecommendationInput): string[] {
  const advice: string[] = [];
  if (input.successRate < SUCCESS_RATE_ACTION && input.failed > 0) {
    advice.push(
      `${input.failed} requests failed (${describeCauses(input.errors)}): check the server's logs and capacity (--workers, --concurrency, ` +
        '--timeout-ms); if a new model version started failing, roll back to the previous one',
    );
  }
  if (input.isReference) {
    if (advice.length === 0) advice.push('reference scenario: healthy, the others are compared with it');
    return advice;
  }
  const drift = input.drift;
  if (!drift) {
    advice.push('no successful prediction, so no drift statistics: fix the failures above first');
    return advice;
  }
  const inputSignal = (IMAGE_SIGNALS as readonly string[]).includes(drift.psi_max_signal);
  const drop = input.accuracyDrop;
  const estimateFell = input.estimatedAccuracyDrop !== null && input.estimatedAccuracyDrop > ACCURACY_DROP_ACTION;
  if (drift.verdict === 'significant') {
    if (inputSignal) {
      advice.push(
        `the inputs themselves changed (PSI ${drift.psi_max.toFixed(2)} on ${drift.psi_max_signal}): investigate input quality ` +
          '(camera, compression, resizing, client preprocessing) before touching the model',
      );
    } else {
      advice.push(`the model's outputs shifted (PSI ${drift.psi_max.toFixed(2)} on ${drift.psi_max_signal}) although the inputs look alike: investigate what changed upstream`);
    }
    if (drop !== null && drop > ACCURACY_DROP_ACTION) {
      advice.push(
        `accuracy fell ${(drop * 100).toFixed(1)} points: retrain with data like this scenario (or augmentations of it); ` +
          'if this is live traffic after a deploy, roll back',
      );
    } else if (!input.labelled && !estimateFell) {
      advice.push('no labels here, so accuracy is unknown: label a sample of these inputs, and consider rejecting low-confidence predictions or retraining on this domain');
    }
  } else if (drift.verdict === 'moderate') {
    advice.push(
      drift.detected === false
        ? `moderate PSI (${drift.psi_max.toFixed(2)} on ${drift.psi_max_signal}) that the shift detector does not confirm at alpha ${drift.alpha}: likely sampling noise; re-run on more images before acting`
        : `moderate drift (PSI ${drift.psi_max.toFixed(2)} on ${drift.psi_max_signal}): keep monitoring; re-run drift on fresh traffic before acting`,
    );
    if (drop !== null && drop > ACCURACY_DROP_ACTION) advice.push(`accuracy fell ${(drop * 100).toFixed(1)} points: plan a retrain`);
  } else if (drift.detected === true) {
    advice.push(`the shift detector fires (${decidingTest(drift)}) although PSI stays low: a shift PSI's bins miss; compare that signal with the reference`);
  } else if (drop !== null && drop > ACCURACY_DROP_ACTION) {
    advice.push(`distributions look stable but accuracy fell ${(drop * 100).toFixed(1)} points: check the labels, then retrain`);
  } else if (advice.length === 0 && !estimateFell) {
    advice.push('no drift: no action needed');
  }
  if (estimateFell && !input.labelled) {
    advice.push(
      `no labels here, but the label-free estimate is ${(input.estimatedAccuracyDrop! * 100).toFixed(1)} points below the held-out accuracy: ` +
        'label a sample of these inputs to confirm, then retrain on this domain',
    );
  }
  return advice;
}
