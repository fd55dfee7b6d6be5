/**
 * `mldeploy serve` as a real child process, run from the TypeScript sources through the
 * transpile-only hook (cluster workers re-run the same entry): for tests that need signals,
 * node:cluster or exit codes.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

export interface ServeChild {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

export interface ServeCliOptions {
  /** Extra node flags before the entry (e.g. `-r <preload>`); workers inherit them. */
  nodeArgs?: string[];
  /** Own process group, so a signal can reach the primary and its workers at once. */
  detached?: boolean;
  /** Extra environment variables for the server (added to this process's). */
  env?: Record<string, string>;
}

export function runServe(args: string[], options: ServeCliOptions = {}): ServeChild {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), '-r', 'tsx/cjs', 'test/helpers/mldeploy-from-sources.ts', 'serve', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached,
    env: { ...process.env, ...options.env },
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk) => (out += chunk));
  child.stderr!.on('data', (chunk) => (err += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** The listening URL from the ready line (rejects if the process exits first). */
export function readyUrl(proc: ServeChild): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const check = () => {
      const match = /listening on (http:\/\/\S+)/.exec(proc.stdout());
      if (match) resolve(match[1]);
    };
    check();
    proc.child.stdout!.on('data', check);
    void proc.exited.then((code) => reject(new Error(`serve exited (${code}): ${proc.stderr()}`)));
  });
}

export async function startServe(args: string[], options: ServeCliOptions = {}): Promise<ServeChild & { url: string }> {
  const proc = runServe(['--port', '0', ...args], options);
  return { ...proc, url: await readyUrl(proc) };
}

/** The pids of a primary's cluster workers (its other children, like tsx's esbuild service, excluded). */
export function workerPids(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid), '-f', 'mldeploy-from-sources'], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when there are none
  }
}

export async function until(condition: () => boolean, what: string, attempts = 400): Promise<void> {
  for (let i = 0; i < attempts && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 50));
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}
