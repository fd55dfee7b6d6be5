/** Recommendations that use the shift detector's decision and the label-free accuracy estimate. */
import { recommendationsFor, type RecommendationInput } from '../src/drift/recommend';
import type { ScenarioDrift } from '../src/drift/result';
import { driftOf } from './helpers/drift-results';

function drift(verdict: ScenarioDrift['verdict'], psiMax: number, detected: boolean | null): ScenarioDrift {
  return driftOf({
    psi: { confidence: psiMax, class: 0 },
    psi_max: psiMax,
    psi_max_signal: 'confidence',
    verdict,
    ks: {},
    chi2: { statistic: 0, p_value: 1, dof: 0 },
    detected,
    alpha: 0.05,
    detector: detected === null ? null : 'default',
    p_value: detected ? 3e-7 : 0.4,
    tests: [
      { name: 'ks(noise)', family: 'input', signal: 'noise', statistic: 0.4, p_value: 1e-8, corrected_p_value: detected ? 3e-7 : 0.4, detected: detected === true },
      { name: 'ks(probability[0])', family: 'softmax', signal: 'probability[0]', statistic: 0.1, p_value: 0.5, corrected_p_value: 1, detected: false },
    ],
  });
}

const base: RecommendationInput = { isReference: false, labelled: true, successRate: 1, failed: 0, errors: {}, accuracyDrop: 0, estimatedAccuracyDrop: 0, drift: null };

describe('recommendationsFor with the calibrated figures', () => {
  it('names the deciding test when the detector fires though PSI stays low', () => {
    expect(recommendationsFor({ ...base, drift: drift('none', 0.02, true) })).toEqual([
      "the shift detector fires (ks(noise), corrected p 3.0e-7) although PSI stays low: a shift PSI's bins miss; compare that signal with the reference",
    ]);
    expect(recommendationsFor({ ...base, drift: drift('none', 0.02, false) })).toEqual(['no drift: no action needed']);
  });

  it('calls moderate PSI that the detector does not confirm likely noise', () => {
    expect(recommendationsFor({ ...base, drift: drift('moderate', 0.15, false) })).toEqual([
      'moderate PSI (0.15 on confidence) that the shift detector does not confirm at alpha 0.05: likely sampling noise; re-run on more images before acting',
    ]);
    expect(recommendationsFor({ ...base, drift: drift('moderate', 0.15, null) })[0]).toMatch(/^moderate drift \(PSI 0.15 on confidence\): keep monitoring/);
  });

  it('on unlabelled images, acts on a fall of the label-free estimate', () => {
    const unlabelled = { ...base, labelled: false, accuracyDrop: null };
    expect(recommendationsFor({ ...unlabelled, estimatedAccuracyDrop: 0.2, drift: drift('significant', 3, true) })).toEqual([
      "the model's outputs shifted (PSI 3.00 on confidence) although the inputs look alike: investigate what changed upstream",
      'no labels here, but the label-free estimate is 20.0 points below the held-out accuracy: label a sample of these inputs to confirm, then retrain on this domain',
    ]);
    expect(recommendationsFor({ ...unlabelled, estimatedAccuracyDrop: 0.2, drift: drift('none', 0.01, false) })).toEqual([
      'no labels here, but the label-free estimate is 20.0 points below the held-out accuracy: label a sample of these inputs to confirm, then retrain on this domain',
    ]);
    // Without a fall (or without an estimate) the generic advice for unlabelled images stays.
    expect(recommendationsFor({ ...unlabelled, estimatedAccuracyDrop: null, drift: drift('significant', 3, true) })[1]).toMatch(/^no labels here, so accuracy is unknown/);
  });
});
