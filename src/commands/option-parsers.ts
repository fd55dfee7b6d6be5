/** commander value parsers shared by the commands: a bad value is a one-line usage error (exit 2). */
import { UsageError } from '../errors';
import { requireInteger } from '../util/validation';

/** Whole numbers in [min, max] written as digits; the message names the option and the value given. */
export function integer(option: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const digits = /^-?\d+$/.test(value.trim());
    return requireInteger(option, digits ? Number(value) : Number.NaN, min, max, `"${value}"`);
  };
}

export function positiveNumber(option: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n <= 0) throw new UsageError(`${option} must be a number > 0, got "${value}"`);
    return n;
  };
}

/** A number in [0, 1). */
export function fraction(option: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0 || n >= 1) {
      throw new UsageError(`${option} must be a number >= 0 and < 1, got "${value}"`);
    }
    return n;
  };
}
