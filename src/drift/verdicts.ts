/**
 * The calibrated figures of one scenario, from the replay's signals: the shift detector's
 * decision (src/drift/detect/shift.ts) against the detector reference, and the label-free
 * accuracy estimate (src/drift/estimate/estimators.ts) from the model's calibration. Pure.
 */
import type { CalibrationRecord } from '../model/metadata';
import { IMAGE_SIGNALS } from '../preprocess/image-stats';
import { detectShift, listShiftTests, type Signals as ShiftSignals } from './detect/shift';
import { estimateAccuracy } from './estimate/estimators';
import type { Signals } from './measure';
import type { EstimatedAccuracy, ScenarioDrift } from './result';

export type Detection = Pick<ScenarioDrift, 'detected' | 'alpha' | 'detector' | 'p_value' | 'tests' | 'detection_note'>;

export interface Estimation {
  estimated_accuracy: EstimatedAccuracy | null;
  estimated_accuracy_drop: number | null;
  estimated_accuracy_note: string | null;
}

/** What the detector compares with: per-image signals, or why there are none. */
export type DetectorReference = { signals: ShiftSignals; note: null } | { signals: null; note: string };

/** The baseline replay as the detector's reference. */
export function replayDetectorReference(baseline: Signals): DetectorReference {
  if (baseline.probabilities === null) {
    return { signals: null, note: 'the baseline answers carried no all_probabilities: BBSD unavailable, PSI only' };
  }
  return { signals: { probabilities: baseline.probabilities, inputs: inputsOf(baseline) }, note: null };
}

/** The model's calibration images as the detector's reference (--reference model). */
export function modelDetectorReference(calibration: CalibrationRecord | null): DetectorReference {
  if (calibration === null) {
    return { signals: null, note: "reference has no probability vectors (the model's metadata.json has no calibration): BBSD unavailable, PSI only" };
  }
  return { signals: { probabilities: calibration.reference.probabilities, inputs: calibration.reference.input_signals }, note: null };
}

/** detectShift at alpha, as the result's fields; a side without probability vectors: not run, with the reason. */
export function detectionOf(reference: DetectorReference, current: Signals, alpha: number): Detection {
  const none = (note: string): Detection => ({ detected: null, alpha, detector: null, p_value: null, tests: [], detection_note: note });
  if (reference.signals === null) return none(reference.note);
  if (current.probabilities === null) return none('the answers carried no all_probabilities: BBSD unavailable, PSI only');
  if (current.probabilities.length === 0) return none('no answered prediction to test');
  const detection = detectShift(reference.signals, { probabilities: current.probabilities, inputs: inputsOf(current) }, { alpha });
  return {
    detected: detection.detected,
    alpha: detection.alpha,
    detector: detection.detector,
    p_value: detection.p_value,
    tests: listShiftTests(detection.tests, (t) => `${t.test}(${t.signal})`),
    detection_note: null,
  };
}

/** Every estimator on the answered predictions; null with the reason when the model has no calibration or nothing was answered. */
export function estimationOf(calibration: CalibrationRecord | null, current: Signals): Estimation {
  const none = (note: string): Estimation => ({ estimated_accuracy: null, estimated_accuracy_drop: null, estimated_accuracy_note: note });
  if (calibration === null) return none("the model's metadata.json has no calibration (temperature, ATC threshold): retrain with this mldeploy to add it");
  if (current.probabilities === null) return none('the answers carried no all_probabilities');
  if (current.probabilities.length === 0) return none('no answered prediction');
  const estimate = estimateAccuracy(calibration, current.probabilities);
  return {
    estimated_accuracy: {
      method: estimate.method,
      value: estimate.value,
      ci_low: estimate.ci_low,
      ci_high: estimate.ci_high,
      n: estimate.n,
      confidence_level: estimate.confidence_level,
      methods: estimate.methods,
    },
    estimated_accuracy_drop: calibration.heldout_accuracy - estimate.value,
    estimated_accuracy_note: null,
  };
}

function inputsOf(signals: Signals): ShiftSignals['inputs'] {
  return Object.fromEntries(IMAGE_SIGNALS.map((signal) => [signal, signals.values[signal]]));
}
