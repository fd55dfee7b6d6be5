/** What the single-process, cluster-primary and cluster-worker lifecycles share: options, events, IPC messages, signals. */
import type { Worker } from 'node:cluster';
import type { MonitoringReport } from '../monitor/live';
import type { RollbackSection, ShadowSection } from '../rollout/monitoring-contract';
import type { ReadyVersion } from './ready-summary';
import type { ShadowEvent } from './shadow-cluster';
import type { StartServerOptions } from './server';
import type { TrafficFigures, TrafficSample } from './traffic';

export interface ServeOptions extends Omit<StartServerOptions, 'workers' | 'cluster' | 'notice'> {
  workers: number;
}

export interface ReadyInfo {
  url: string;
  version: string;
  engine: string;
  /** Engines `auto` tried first and why they did not start (printed like train's engine line). */
  engineSkipped: string[];
  workers: number;
  logDir: string;
  startupMs: number;
  /** What serves, the stable version first (with a canary, a shadow or other labelled versions, several). */
  versions: ReadyVersion[];
}

export interface ServeEvents {
  ready(info: ReadyInfo): void;
  /** Operational messages (reloads, stops, worker restarts, log faults) for the CLI to print. */
  notice(message: string): void;
}

export type WorkerMessage =
  | { type: 'mldeploy:ready'; url: string; version: string; engine: string; engineSkipped: string[]; versions: ReadyVersion[] }
  | { type: 'mldeploy:startup-failed'; message: string }
  | { type: 'mldeploy:predictions'; lines: string }
  | { type: 'mldeploy:metrics-request'; id: number }
  | { type: 'mldeploy:reload-others' }
  | { type: 'mldeploy:notice'; message: string }
  | { type: 'mldeploy:monitoring-request'; id: number; version: string }
  | { type: 'mldeploy:traffic'; samples: TrafficSample[] }
  | { type: 'mldeploy:shadow'; events: ShadowEvent[] }
  | { type: 'mldeploy:traffic-request'; id: number; versions: string[] }
  | { type: 'mldeploy:serving'; versions: string[] };

export type PrimaryMessage =
  | { type: 'mldeploy:metrics-response'; id: number; text?: string; error?: string }
  | { type: 'mldeploy:reload' }
  | { type: 'mldeploy:shutdown' }
  | { type: 'mldeploy:monitoring-response'; id: number; report: MonitoringReport | null; rollback?: RollbackSection | null; shadow?: ShadowSection | null }
  | { type: 'mldeploy:traffic-response'; id: number; figures: Record<string, TrafficFigures> };

const STOP_SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

export function waitForStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const handler = (signal: NodeJS.Signals) => {
      for (const s of STOP_SIGNALS) process.off(s, handler);
      resolve(signal);
    };
    for (const s of STOP_SIGNALS) process.on(s, handler);
  });
}

export function send(target: Worker | NodeJS.Process, message: PrimaryMessage | WorkerMessage): void {
  try {
    if (target === process) process.send?.(message);
    else (target as Worker).send(message);
  } catch {
    // The other side is already gone (stopping or crashed): nothing to deliver to.
  }
}

export function sendAndWait(message: WorkerMessage): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}
