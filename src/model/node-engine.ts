/**
 * Loading tfjs-node (native TensorFlow) without letting it take the process down.
 *
 * tfjs-node can fail in three ways that a plain try/require does not survive or even notice:
 *  - its install script never ran (npm without an `allowScripts` entry, --ignore-scripts):
 *    the package is there, its native binding is not;
 *  - it loads but throws on its first op (4.22 on Node >= 23: `util.isNullOrUndefined` was
 *    removed; tfjs#8609);
 *  - the native library kills the process with SIGILL (a CPU without AVX, emulation; tfjs#4414,
 *    #6381) or hangs.
 * So the first load on a machine runs in a child process with a timeout and a real op; its
 * outcome is cached per machine, Node version and tfjs-node build. Only then is it loaded here.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import writeFileAtomic from 'write-file-atomic';

export const TFJS_NODE_PACKAGE = '@tensorflow/tfjs-node';
/** Set to anything but "" or "0" to never try tfjs-node. */
export const SKIP_NODE_ENV = 'MLDEPLOY_SKIP_NODE';
export const PROBE_CACHE_FILE = 'node-engine-probe.json';
const DEFAULT_PROBE_TIMEOUT_MS = 60_000;

export interface NodeEngineOptions {
  /** Directory of the package standing in for tfjs-node (tests pass a fake); default: the real one. */
  packageDir?: string;
  /** Where probe outcomes are cached; default $XDG_CACHE_HOME/mldeploy or ~/.cache/mldeploy. */
  cacheDir?: string;
  probeTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

interface ProbeOutcome {
  ok: boolean;
  /** Why it cannot run here (when not ok). */
  reason?: string;
}

/**
 * Makes tfjs-node's backend ('tensorflow') available in this process and returns the package's
 * version, or throws an Error whose message says why it cannot run here and what to do about it.
 */
export function loadNodeEngine(options: NodeEngineOptions = {}): string {
  const env = options.env ?? process.env;
  const skip = env[SKIP_NODE_ENV];
  if (skip && skip !== '0') throw new Error(`skipped (${SKIP_NODE_ENV}=${skip})`);
  const packageDir = options.packageDir ?? installedPackageDir();
  if (!packageDir || !existsSync(path.join(packageDir, 'package.json'))) throw new Error(`${TFJS_NODE_PACKAGE} is not installed`);
  const version = packageVersion(packageDir);
  const binding = findBinding(packageDir);
  if (!binding) throw new Error(missingBindingMessage());
  // TensorFlow's C++ logging goes to stderr, above any CLI output; keep warnings and errors.
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';

  const cacheFile = path.join(options.cacheDir ?? defaultCacheDir(env), PROBE_CACHE_FILE);
  const key = probeKey(packageDir, version, binding);
  const cached = readCache(cacheFile)[key];
  if (cached && !cached.ok) throw new Error(`${cached.reason} (remembered in ${cacheFile}; delete it to probe again)`);
  if (!cached) {
    const probed = probeInChild(packageDir, options.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS);
    if (probed.cache) writeCache(cacheFile, key, { ok: probed.ok, reason: probed.reason });
    if (!probed.ok) throw new Error(probed.reason);
  }
  // A path known only at run time, and loading it registers the 'tensorflow' backend.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require(packageDir);
  return version;
}

/** The hint for the Node >= 23 incompatibility of tfjs-node 4.22, added to its error. */
export function explainLoadError(message: string): string {
  if (/tfjs_binding\.node/.test(message) && /can ?not be found|Cannot find module/i.test(message)) return missingBindingMessage();
  if (/isNullOrUndefined/.test(message)) {
    return `${message} (tfjs-node 4.22 does not run on Node ${process.versions.node}: use Node 20 or 22; tfjs#8609)`;
  }
  return message;
}

function missingBindingMessage(): string {
  return (
    `${TFJS_NODE_PACKAGE} is installed but its native binding is missing (its install script did not run: ` +
    `npm 11+ runs a dependency's install script only when the project's package.json "allowScripts" lists it, and none with --ignore-scripts); ` +
    `fix: npm rebuild ${TFJS_NODE_PACKAGE} (npm 11+: npm approve-scripts ${TFJS_NODE_PACKAGE} first)`
  );
}

function installedPackageDir(): string | undefined {
  try {
    return path.dirname(require.resolve(`${TFJS_NODE_PACKAGE}/package.json`));
  } catch {
    return undefined;
  }
}

function packageVersion(packageDir: string): string {
  return (JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as { version?: string }).version ?? 'unknown';
}

/** tfjs-node's binding, at node-pre-gyp's module_path `lib/napi-v<N>/tfjs_binding.node`. */
function findBinding(packageDir: string): string | undefined {
  const lib = path.join(packageDir, 'lib');
  if (!existsSync(lib)) return undefined;
  for (const entry of readdirSync(lib)) {
    const file = path.join(lib, entry, 'tfjs_binding.node');
    if (entry.startsWith('napi-v') && existsSync(file)) return file;
  }
  return undefined;
}

/** Same machine, Node and tfjs-node build -> same outcome; a rebuilt binding probes again. */
function probeKey(packageDir: string, version: string, binding: string): string {
  const stat = statSync(binding);
  const cpu = os.cpus()[0]?.model ?? 'unknown cpu';
  const parts = [os.hostname(), os.platform(), os.arch(), cpu, process.version, packageDir, version, binding, stat.size, stat.mtimeMs];
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}

function defaultCacheDir(env: NodeJS.ProcessEnv): string {
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'mldeploy');
}

function readCache(file: string): Record<string, ProbeOutcome> {
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, ProbeOutcome>) : {};
  } catch {
    return {};
  }
}

/** Best effort: an unwritable cache only means probing again next time. */
function writeCache(file: string, key: string, outcome: ProbeOutcome): void {
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileAtomic.sync(file, JSON.stringify({ ...readCache(file), [key]: outcome }, null, 2) + '\n');
  } catch {
    // Read-only home (containers): nothing to keep.
  }
}

/** Loads the package in a child process and runs one op there; reports how that went. */
const PROBE_SCRIPT = `
const fail = (err) => { process.stderr.write('\\nprobe-error: ' + String(err && err.message || err).split('\\n')[0] + '\\n'); process.exit(3); };
try {
  const tf = require(process.argv[1]);
  tf.setBackend('tensorflow').then((ok) => {
    if (!ok) throw new Error("tf.setBackend('tensorflow') failed");
    const values = tf.add(tf.tensor1d([1, 2]), 1).dataSync();
    if (values[0] !== 2 || values[1] !== 3) throw new Error('1 + [1, 2] gave [' + Array.from(values) + ']');
  }).catch(fail);
} catch (err) { fail(err); }
`;

/** What a probe found; `cache: false` for failures of the probe itself (it could not start). */
function probeInChild(packageDir: string, timeoutMs: number): ProbeOutcome & { cache: boolean } {
  const child = spawnSync(process.execPath, ['-e', PROBE_SCRIPT, packageDir], {
    encoding: 'utf8',
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: process.env.TF_CPP_MIN_LOG_LEVEL ?? '2' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  if (child.status === 0) return { ok: true, cache: true };
  const prefix = 'loading it in a child process';
  if (child.error && (child.error as NodeJS.ErrnoException).code === 'ETIMEDOUT') {
    // Cached too, or every start would wait the whole timeout (TensorFlow loads in about a second).
    return { ok: false, reason: `${prefix} did not finish within ${timeoutMs / 1000} s`, cache: true };
  }
  if (child.error) return { ok: false, reason: `${prefix} failed: ${child.error.message}`, cache: false };
  if (child.signal) {
    const why = child.signal === 'SIGILL' ? ' (a CPU without AVX, or emulation: the TensorFlow library needs AVX)' : '';
    return { ok: false, reason: `${prefix} crashed it with ${child.signal}${why}`, cache: true };
  }
  const line = /probe-error: (.*)/.exec(child.stderr ?? '')?.[1] ?? `exit code ${child.status}`;
  return { ok: false, reason: explainLoadError(line), cache: true };
}
