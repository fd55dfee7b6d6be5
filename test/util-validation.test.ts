import { UsageError } from '../src/errors';
import { requireInteger } from '../src/util/validation';

describe('requireInteger', () => {
  it('returns whole numbers inside the range', () => {
    expect(requireInteger('workers', 1, 1)).toBe(1);
    expect(requireInteger('--port', 65535, 0, 65535)).toBe(65535);
  });

  it.each([
    [0, 1, undefined, 'epochs must be an integer >= 1, got 0'],
    [2.5, 1, undefined, 'epochs must be an integer >= 1, got 2.5'],
    [Number.NaN, 1, undefined, 'epochs must be an integer >= 1, got NaN'],
    [2 ** 53, 1, undefined, 'epochs must be an integer >= 1, got 9007199254740992'],
    [70000, 0, 65535, 'epochs must be an integer from 0 to 65535, got 70000'],
  ])('refuses %p (min %p, max %p) with a usage error', (value, min, max, message) => {
    expect(() => requireInteger('epochs', value, min, max)).toThrow(new UsageError(message));
    expect(() => requireInteger('epochs', value, min, max)).toThrow(UsageError);
  });

  it('shows the value as it was given', () => {
    expect(() => requireInteger('--limit', Number.NaN, 1, undefined, '"many"')).toThrow('--limit must be an integer >= 1, got "many"');
  });
});
