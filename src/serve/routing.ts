/**
 * Which version answers a request, as pure functions: a pinned selector (version name, TF
 * Serving version number or label) wins; otherwise the canary gets its share of traffic by a
 * hash of the request's key (a client id header, else the request id), so the same client
 * always lands on the same version while the split stays put.
 */
import { createHash } from 'node:crypto';
import { UsageError } from '../errors';

export const DEFAULT_CANARY_KEY_HEADER = 'x-client-id';
export const VERSION_HEADER = 'x-model-version';
export const REQUEST_ID_HEADER = 'x-request-id';

/** `--canary <version>:<percent>`, or the `canary` label with `--canary-percent` (version null). */
export interface CanarySpec {
  version: string | null;
  percent: number;
}

const PERCENT = /^\d+(\.\d+)?$/;

export function parsePercent(option: string, text: string): number {
  const value = Number(text);
  if (!PERCENT.test(text.trim()) || !(value >= 0 && value <= 100)) {
    throw new UsageError(`${option} must be a percentage between 0 and 100 (decimals allowed), got "${text}"`);
  }
  return value;
}

/** Parses `--canary v3_2026_12_01:10` (UsageError on anything else). */
export function parseCanarySpec(text: string): CanarySpec {
  const colon = text.lastIndexOf(':');
  const version = colon < 0 ? '' : text.slice(0, colon).trim();
  if (!version) throw new UsageError(`--canary must be <version>:<percent> (e.g. v3_2026_12_01:10), got "${text}"`);
  return { version, percent: parsePercent('--canary', text.slice(colon + 1)) };
}

/** The --canary / --canary-percent pair as one spec (UsageError when both or a bad value are given). */
export function canaryOption(canary: string | undefined, canaryPercent: string | undefined): CanarySpec | undefined {
  if (canary !== undefined && canaryPercent !== undefined) {
    throw new UsageError('give --canary <version>:<percent> or --canary-percent <p> (for the "canary" label), not both');
  }
  if (canary !== undefined) return parseCanarySpec(canary);
  return canaryPercent === undefined ? undefined : { version: null, percent: parsePercent('--canary-percent', canaryPercent) };
}

/** An HTTP header name (RFC 9110 token), lower-cased as node presents request headers. */
export function parseHeaderName(option: string, name: string): string {
  if (!/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(name)) throw new UsageError(`${option} must be an HTTP header name, got "${name}"`);
  return name.toLowerCase();
}

/** The key's place in [0, 100): the first 32 bits of its SHA-256, so splits are uniform and stable across processes. */
export function trafficBucket(key: string): number {
  return (createHash('sha256').update(key).digest().readUInt32BE(0) / 2 ** 32) * 100;
}

/** True when this key's requests go to a canary taking `percent` of traffic. */
export function routesToCanary(key: string, percent: number): boolean {
  return percent > 0 && trafficBucket(key) < percent;
}

/** The TF Serving version number of a version name: v3_2026_12_01 -> "3" ("1" when it has none). */
export function numericVersion(version: string): string {
  return /^v(\d+)/.exec(version)?.[1] ?? '1';
}

/** Whether `selector` names this version: its full name, its TF Serving number or one of its labels. */
export function selects(selector: string, version: string, labels: readonly string[]): boolean {
  return selector === version || selector === numericVersion(version) || labels.includes(selector);
}
