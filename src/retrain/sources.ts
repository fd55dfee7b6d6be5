/**
 * Where retrain learns what drifted: a performance_log.json on disk, or a running server's
 * GET /monitoring. Both are validated when read; every failure is one clear DataError.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { z } from 'zod';
import { parseDriftResult, type DriftResult } from '../drift/result';
import { DataError } from '../errors';
import { describeInvalid } from '../util/validation';

export interface DriftLogFile {
  log: DriftResult;
  path: string;
  /** sha256 of the file's bytes, recorded in the candidate's metadata. */
  sha256: string;
}

export async function readDriftLog(file: string): Promise<DriftLogFile> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch (err) {
    throw new DataError(`cannot read the drift log ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message} (write one with "mldeploy drift")`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new DataError(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  let log: DriftResult;
  try {
    log = parseDriftResult(parsed);
  } catch (err) {
    throw new DataError(`${file}: ${(err as Error).message}`);
  }
  return { log, path: file, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** The part of GET /monitoring retrain reads (src/monitor/live.ts MonitoringReport). */
const liveMonitoringSchema = z.object({
  model_version: z.string(),
  window: z.object({ samples: z.number().int().nonnegative() }),
  drift: z.object({
    detected: z.boolean().nullable(),
    alpha: z.number(),
    p_value: z.number().nullable(),
    reason: z.string().nullable(),
    tests: z.array(z.object({ name: z.string(), family: z.string(), signal: z.string(), detected: z.boolean() })),
  }),
  estimated_accuracy: z.object({ value: z.number() }).nullable(),
  reference_accuracy: z.number().nullable(),
});
export type LiveMonitoring = z.infer<typeof liveMonitoringSchema>;

export const LIVE_TIMEOUT_MS = 10_000;

export async function fetchLiveMonitoring(url: string, apiKey?: string): Promise<LiveMonitoring> {
  const target = new URL('monitoring', url.endsWith('/') ? url : `${url}/`).toString();
  let response: Response;
  try {
    response = await fetch(target, { headers: apiKey ? { 'x-api-key': apiKey } : {}, signal: AbortSignal.timeout(LIVE_TIMEOUT_MS) });
  } catch (err) {
    const cause = (err as Error & { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new DataError(`cannot reach ${target}: ${cause}`);
  }
  const text = await response.text();
  if (!response.ok) throw new DataError(`${target} answered HTTP ${response.status}: ${text.slice(0, 200)}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new DataError(`${target} did not answer JSON`);
  }
  const result = liveMonitoringSchema.safeParse(parsed);
  if (!result.success) throw new DataError(describeInvalid(`${target} answer`, result.error));
  return result.data;
}
