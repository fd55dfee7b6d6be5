/** The per-process HTTP limits of a server and their checks (server.ts applies them to the listener). */
import { UsageError } from '../errors';
import { requireInteger } from '../util/validation';

/** Per-process HTTP limits against slow and idle clients (slowloris) and connection floods. */
export interface ServerLimits {
  /** A client must have sent all request headers this long after connecting (else 408 and close). */
  headersTimeoutMs: number;
  /** A whole request (headers and body) must have arrived within this (else 408 and close). */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this; above a load balancer's 60 s idle timeout. */
  keepAliveTimeoutMs: number;
  /** Connections beyond this many are closed at once (per process; per worker in cluster mode). */
  maxConnections: number;
}

export const DEFAULT_LIMITS: ServerLimits = { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, keepAliveTimeoutMs: 65_000, maxConnections: 1024 };

/** Defaults filled in and checked (UsageError), so a bad flag fails before any worker starts. */
export function resolveLimits(given: Partial<ServerLimits> = {}): ServerLimits {
  const limits = { ...DEFAULT_LIMITS, ...given };
  for (const [name, value] of Object.entries(limits)) {
    requireInteger(`server limit ${name}`, value, 1);
  }
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) {
    throw new UsageError(`the headers timeout (${limits.headersTimeoutMs} ms) must not exceed the request timeout (${limits.requestTimeoutMs} ms)`);
  }
  return limits;
}
