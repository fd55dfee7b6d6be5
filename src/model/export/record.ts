/**
 * What metadata.json records for each exported format (`exports.<format>`): its files and how it
 * compares with the float32 tfjs model on the same test images.
 */
import { z } from 'zod';

export const EXPORT_FORMATS = ['onnx', 'tfjs-float16', 'tfjs-uint8'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const exportRecordSchema = z.object({
  /** Files in the version directory, the one to load first. */
  files: z.array(z.string()).min(1),
  /** Their total size on disk. */
  bytes: z.number().int().positive(),
  created_at: z.string(),
  /** The test images measured on: their source, digest and how many (--limit may cut them). */
  test_source: z.string(),
  test_digest: z.string(),
  test_count: z.number().int().positive(),
  /** Top-1 accuracy of this format, and of the float32 tfjs model on the same images. */
  test_accuracy: z.number().min(0).max(1),
  float32_test_accuracy: z.number().min(0).max(1),
  /** Fraction of images whose predicted class equals the float32 model's. */
  agreement: z.number().min(0).max(1),
  /** Largest |p_format - p_float32| over all images and classes. */
  max_abs_diff: z.number().nonnegative(),
  /** What computed this format's predictions (e.g. onnxruntime-node 1.30.0). */
  runtime: z.string(),
});
export type ExportRecord = z.infer<typeof exportRecordSchema>;

export const exportsSchema = z.record(z.enum(EXPORT_FORMATS), exportRecordSchema);
