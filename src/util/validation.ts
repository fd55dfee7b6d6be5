import type { ZodError } from 'zod';
import { UsageError } from '../errors';

/** One line naming the first field a file or response got wrong, for every zod-validated contract. */
export function describeInvalid(what: string, error: ZodError): string {
  const issue = error.issues[0];
  return `${what} is invalid at "${issue.path.join('.') || '(root)'}": ${issue.message}`;
}

/**
 * The one whole-number check behind every count, size and limit an option or library call takes:
 * `value` must be an integer in [min, max], else a UsageError naming `name` and what was given.
 */
export function requireInteger(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER, given: string = String(value)): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw new UsageError(`${name} must be an integer ${range}, got ${given}`);
  }
  return value;
}
