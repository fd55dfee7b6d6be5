import type { ZodError } from 'zod';

/** One line naming the first field a file or response got wrong, for every zod-validated contract. */
export function describeInvalid(what: string, error: ZodError): string {
  const issue = error.issues[0];
  return `${what} is invalid at "${issue.path.join('.') || '(root)'}": ${issue.message}`;
}
