/**
 * The model's train-time calibration (metadata.json `calibration`, schema 2): the temperature
 * and ATC thresholds the accuracy estimators need and the per-image probability vectors the
 * shift detector's `--reference model` compares with. With --model it is read from the model's
 * metadata.json; with --url it comes from GET /model-info/calibration. An older model (or an
 * older server) loads all the same: `missing` says what it lacks, and the run reports it.
 */
import { pickImages } from '../data/sample';
import type { ImageSet } from '../data/types';
import { MldeployError, UsageError } from '../errors';
import { readMetadata, resolveModelDir } from '../model/artifacts';
import { splitTestSet } from '../model/calibration-record';
import { metadataSchema, missingProfileParts, type CalibrationRecord } from '../model/metadata';
import { describeInvalid } from '../util/validation';
import type { PredictClient } from './client';
import type { Rule } from './rules';

export const CALIBRATION_ROUTE = '/model-info/calibration';

const calibrationSchema = metadataSchema.innerType().shape.calibration.unwrap();

export interface ModelCalibration {
  calibration: CalibrationRecord | null;
  /** What the model (or server) lacks, one line each; empty when calibration is present. */
  missing: string[];
}

/** From the model directory (--model) or the server (--url). */
export async function loadModelCalibration(client: PredictClient, modelPath: string | undefined): Promise<ModelCalibration> {
  if (modelPath !== undefined) {
    const metadata = await readMetadata(resolveModelDir(modelPath));
    return { calibration: metadata.calibration ?? null, missing: missingProfileParts(metadata) };
  }
  const body = await client.getOptionalJson(CALIBRATION_ROUTE);
  if (body === null) {
    return {
      calibration: null,
      missing: [`calibration: the server does not publish it (GET ${CALIBRATION_ROUTE} answered 404); serve the model with this version of mldeploy, or use --model`],
    };
  }
  return parseServedCalibration(body);
}

/** The route's answer: `{calibration: {...} | null, missing: string[]}`. */
export function parseServedCalibration(body: unknown): ModelCalibration {
  const { calibration, missing } = (body ?? {}) as { calibration?: unknown; missing?: unknown };
  const lines = Array.isArray(missing) && missing.every((line) => typeof line === 'string') ? (missing as string[]) : [];
  if (calibration === null || calibration === undefined) {
    return { calibration: null, missing: lines.length > 0 ? lines : ['calibration: the served model has none'] };
  }
  const parsed = calibrationSchema.safeParse(calibration);
  if (!parsed.success) throw new MldeployError(describeInvalid(`the server's calibration (GET ${CALIBRATION_ROUTE})`, parsed.error));
  return { calibration: parsed.data, missing: [] };
}

const ESTIMATE_RULE_METRICS = ['estimated_accuracy', 'estimated_accuracy_drop'];
const DETECTION_RULE_METRICS = ['drift_detected', 'p_value'];

/**
 * A rule the model can never support (an estimate without calibration; a detection against a
 * model reference without probability vectors) is a UsageError before anything is replayed.
 */
export function requireCalibrationFor(rules: Rule[], reference: 'baseline' | 'model', model: ModelCalibration): void {
  if (model.calibration !== null) return;
  const lacking = model.missing.join('; ');
  const estimate = rules.find((rule) => ESTIMATE_RULE_METRICS.includes(rule.metric));
  if (estimate) throw new UsageError(`--fail-on ${estimate.text} needs the model's calibration, which it lacks (${lacking}). Nothing was replayed.`);
  const detection = rules.find((rule) => DETECTION_RULE_METRICS.includes(rule.metric));
  if (detection && reference === 'model') {
    throw new UsageError(
      `--fail-on ${detection.text} with --reference model needs the model's reference probability vectors, which it lacks (${lacking}); ` +
        'use --reference baseline (the clean replay) instead. Nothing was replayed.',
    );
  }
}

/** The test images the model's calibration did not use (its seeded 'test-half' split), else all of them. */
export function imagesOutsideCalibration(test: ImageSet, calibration: CalibrationRecord | null): { images: ImageSet; excluded: number } {
  if (calibration?.source !== 'test-half' || calibration.split_seed === null) return { images: test, excluded: 0 };
  const split = splitTestSet(test.count, calibration.split_seed);
  // A test set of another size is not the one the model was calibrated on.
  if (split.calibration.length !== calibration.images) return { images: test, excluded: 0 };
  return { images: pickImages(test, split.reported), excluded: split.calibration.length };
}
