/**
 * The metadata.json contract written beside every saved model: one type, one schema
 * version, validated whenever it is read.
 */
import { z } from 'zod';
import { IMAGE_SIGNALS } from '../preprocess/image-stats';
import { describeInvalid } from '../util/validation';
import { exportsSchema } from './export/record';

/**
 * 2 added `calibration` (temperature, ECE, estimator and detector reference). Version 1 files
 * still load: they lack `calibration`, and {@link missingProfileParts} says so.
 */
export const METADATA_SCHEMA_VERSION = 2;

/** Signals whose per-image values the reference profile keeps (confidence + input statistics). */
export const REFERENCE_SIGNALS = ['confidence', ...IMAGE_SIGNALS] as const;
export type ReferenceSignal = (typeof REFERENCE_SIGNALS)[number];

const histogramSchema = z.object({
  bin_edges: z.array(z.number()),
  counts: z.array(z.number().int().nonnegative()),
});

const epochSchema = z.object({
  epoch: z.number().int().positive(),
  loss: z.number(),
  accuracy: z.number(),
  val_loss: z.number().nullable(),
  val_accuracy: z.number().nullable(),
  seconds: z.number(),
  img_per_s: z.number(),
});

export const referenceProfileSchema = z.object({
  /** How many test images the profile was computed from. */
  samples: z.number().int().positive(),
  confidence_histogram: histogramSchema,
  predicted_class_counts: z.record(z.string(), z.number().int().nonnegative()),
  pixel_stats: z.object({
    channel_mean: z.array(z.number()).length(3),
    channel_std: z.array(z.number()).length(3),
  }),
  /** Per-image values of each signal (subsampled evenly), so drift can run PSI and KS against them. */
  signals: z.record(z.enum(REFERENCE_SIGNALS), z.array(z.number())),
});
export type ReferenceProfile = z.infer<typeof referenceProfileSchema>;

const calibrationSchema = z.object({
  /** 'validation': the --val-split images; 'test-half': a fixed seeded half of the test set. */
  source: z.enum(['validation', 'test-half']),
  images: z.number().int().positive(),
  /** Seed of the test-set split (null for 'validation'), so tools can rebuild the two halves. */
  split_seed: z.number().int().nullable(),
  temperature: z.number().positive(),
  nll_before: z.number(),
  nll_after: z.number(),
  ece_bins: z.number().int().positive(),
  ece_before: z.number().min(0).max(1),
  ece_after: z.number().min(0).max(1),
  heldout_accuracy: z.number().min(0).max(1),
  heldout_mean_confidence: z.number().min(0).max(1),
  atc_threshold: z.object({ max_confidence: z.number(), negative_entropy: z.number() }),
  /** Per-image signals of (an even subsample of) the calibration images: the detectors' reference. */
  reference: z.object({
    /** Raw softmax vectors, as /predict returns them. */
    probabilities: z.array(z.array(z.number().min(0).max(1))).min(1),
    input_signals: z.record(z.enum(IMAGE_SIGNALS), z.array(z.number())),
  }),
});
export type CalibrationRecord = z.infer<typeof calibrationSchema>;

export const metadataSchema = z
  .object({
    schema_version: z.union([z.literal(1), z.literal(METADATA_SCHEMA_VERSION)]),
    model_type: z.string(),
    version: z.string(),
    created_at: z.string(),
    class_names: z.array(z.string()).min(2),
    num_classes: z.number().int().min(2),
    input_shape: z.tuple([z.number().int(), z.number().int(), z.number().int()]),
    preprocessing: z.record(z.string(), z.unknown()),
    test_accuracy: z.number().min(0).max(1),
    per_class_accuracy: z.record(z.string(), z.number().min(0).max(1).nullable()),
    confusion_matrix: z.array(z.array(z.number().int().nonnegative())),
    training: z.object({
      config: z.record(z.string(), z.unknown()),
      history: z.array(epochSchema),
      duration_s: z.number(),
      img_per_s: z.number(),
    }),
    dataset: z.object({
      source: z.string(),
      format: z.string(),
      digest: z.string(),
      train_count: z.number().int().nonnegative(),
      val_count: z.number().int().nonnegative(),
      test_count: z.number().int().nonnegative(),
    }),
    engine: z.object({
      backend: z.string(),
      tfjs_backend: z.string(),
      versions: z.record(z.string(), z.string()),
      workers: z.number().int().positive().optional(),
    }),
    reference: referenceProfileSchema,
    /** Written by `mldeploy export`: per format, its files and test-set figures against float32. */
    exports: exportsSchema.optional(),
    calibration: calibrationSchema.optional(),
  })
  .passthrough()
  .refine((m) => m.num_classes === m.class_names.length, { message: 'num_classes must equal class_names.length' });

export type ModelMetadata = z.infer<typeof metadataSchema>;

/** Validates parsed JSON as metadata; the message names the first bad field. */
export function parseMetadata(value: unknown): ModelMetadata {
  const result = metadataSchema.safeParse(value);
  if (!result.success) throw new Error(describeInvalid('metadata.json', result.error));
  return result.data;
}

/**
 * What the label-free estimators and the model-reference detectors need but this metadata
 * lacks, one line each (empty when nothing is missing); models trained before schema 2 lack it.
 */
export function missingProfileParts(metadata: ModelMetadata): string[] {
  if (metadata.calibration) return [];
  return [
    `calibration (temperature, ATC threshold, reference probability vectors): metadata.json has schema_version ${metadata.schema_version}; retrain with this version of "mldeploy train" to add it`,
  ];
}
