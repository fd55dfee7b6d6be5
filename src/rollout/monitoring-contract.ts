/**
 * The parts of a server's GET /monitoring that rollouts read and write (docs/models.md): the
 * per-version figures (`versions`), the shadow comparison (`shadow`) and the automatic rollback
 * (`rollback`). `models promote --url` validates what it reads against these schemas; the server
 * builds the `shadow` and `rollback` sections with these types.
 */
import { z } from 'zod';
import { MldeployError } from '../errors';
import { describeInvalid } from '../util/validation';

const nullableNumber = z.number().nullable();

const versionFiguresSchema = z.object({
  version: z.string(),
  labels: z.array(z.string()),
  role: z.enum(['stable', 'canary', 'shadow', 'other']),
  traffic_percent: z.number(),
  requests: z.number(),
  errors: z.number(),
  error_rate: nullableNumber,
  latency_p95_ms: nullableNumber,
  estimated_accuracy: z.object({ value: z.number() }).passthrough().nullable(),
  window: z.object({ size: z.number(), samples: z.number() }).passthrough(),
});
export type VersionFigures = z.infer<typeof versionFiguresSchema>;

const shadowSectionSchema = z.object({
  version: z.string(),
  primary_version: z.string(),
  /** Requests whose images the shadow also predicted. */
  compared: z.number(),
  /** Share of compared images where the shadow's top class was the primary's; null before the first. */
  agreement: nullableNumber,
  /** Mean |primary confidence - shadow confidence|; null before the first comparison. */
  mean_confidence_diff: nullableNumber,
  latency_p95_ms: nullableNumber,
  /** Shadow predictions not made (server busy, shadow still working, or it failed). */
  skipped: z.number(),
});
export type ShadowSection = z.infer<typeof shadowSectionSchema>;

const rollbackSectionSchema = z.object({
  rule: z.string(),
  after: z.number(),
  triggered_at: z.string().optional(),
  from: z.string().optional(),
  to: z.string().optional(),
  reason: z.string().optional(),
});
export type RollbackSection = z.infer<typeof rollbackSectionSchema>;

const liveFiguresSchema = z.object({
  versions: z.array(versionFiguresSchema),
  shadow: shadowSectionSchema.nullable().optional(),
  rollback: rollbackSectionSchema.nullable().optional(),
});
export type LiveFigures = z.infer<typeof liveFiguresSchema>;

/** The rollout sections of a /monitoring answer, validated (MldeployError naming the first bad field). */
export function parseLiveFigures(body: unknown, where: string): LiveFigures {
  const parsed = liveFiguresSchema.safeParse(body);
  if (!parsed.success) throw new MldeployError(`${describeInvalid(where, parsed.error)}; is it an mldeploy serve that reports per-version figures?`);
  return parsed.data;
}
