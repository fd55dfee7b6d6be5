/**
 * A predictions.jsonl line: the contract between the server, which writes it
 * (src/serve/prediction-log.ts), and the monitor, which reads it. Lines carry their
 * `schema_version`, and readers validate every line against this zod schema.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { DataError } from '../errors';
import { IMAGE_SIGNALS, type ImageSignal } from '../preprocess/image-stats';
import { describeInvalid } from '../util/validation';

/** 2 added `probabilities` and `input_stats` (what `mldeploy monitor` needs); version 1 lines still parse. */
export const PREDICTION_LOG_SCHEMA_VERSION = 2;

const recordFields = {
  timestamp: z.string().datetime(),
  model_version: z.string().min(1),
  predicted_class: z.string().min(1),
  confidence: z.number().min(0).max(1),
  latency_ms: z.number().nonnegative(),
  input_sha256: z.string().regex(/^[0-9a-f]{64}$/),
  route: z.string().min(1),
};
const inputStatsSchema = z.object(Object.fromEntries(IMAGE_SIGNALS.map((s) => [s, z.number()])) as Record<ImageSignal, z.ZodNumber>).strict();
const recordV1Schema = z.object({ schema_version: z.literal(1), ...recordFields }).strict();
const recordV2Schema = z
  .object({
    schema_version: z.literal(2),
    ...recordFields,
    /** Softmax vector in class order (6 significant digits). */
    probabilities: z.array(z.number().min(0).max(1)).min(2),
    /** The image's input statistics (src/preprocess/image-stats.ts). */
    input_stats: inputStatsSchema,
  })
  .strict();
const predictionRecordSchema = z.discriminatedUnion('schema_version', [recordV1Schema, recordV2Schema]);

export type PredictionRecord = z.infer<typeof predictionRecordSchema>;
export type MonitoredPredictionRecord = z.infer<typeof recordV2Schema>;
export type PredictionRecordV1 = z.infer<typeof recordV1Schema>;

/**
 * Every line of a predictions.jsonl file (or a rotated .N one), validated. The error names the
 * file and line of the first bad one.
 */
export function readPredictionLog(file: string): PredictionRecord[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const records: PredictionRecord[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const where = `${file} line ${i + 1}`;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new DataError(`${where} is not JSON`);
    }
    const parsed = predictionRecordSchema.safeParse(value);
    if (!parsed.success) throw new DataError(describeInvalid(where, parsed.error));
    records.push(parsed.data);
  });
  return records;
}
