/**
 * `auto` cannot be taken down by a broken tfjs-node: fake packages stand in for it (see
 * helpers/fake-tfjs-node.ts), each run in a fresh process, with a private probe cache.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFakeTfjsNode, type FakeBehaviour, type FakePackage } from './helpers/fake-tfjs-node';

const ROOT = path.resolve(__dirname, '..');
let work: string;

beforeAll(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'mldeploy-engine-fallback-'));
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

interface ChildResult {
  info?: { backend: string; fallback_reasons: string[]; versions: Record<string, string> };
  line?: string;
  product?: number[];
  tfBackend?: string;
  error?: string;
}

function initInChild(fake: FakePackage, options: { choice?: string; probeTimeoutMs?: number; env?: Record<string, string> } = {}): ChildResult {
  const args = { choice: options.choice ?? 'auto', node: { packageDir: fake.dir, cacheDir: path.join(fake.dir, 'cache'), probeTimeoutMs: options.probeTimeoutMs } };
  const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
  if (!options.env?.MLDEPLOY_SKIP_NODE) delete env.MLDEPLOY_SKIP_NODE;
  const child = spawnSync(process.execPath, ['-r', 'tsx/cjs', 'test/helpers/init-engine-child.ts', JSON.stringify(args)], {
    cwd: ROOT,
    env,
    encoding: 'utf8',
    timeout: 90_000,
  });
  expect(child.status).toBe(0); // the process itself always survives
  return JSON.parse(child.stdout.trim().split('\n').pop()!) as ChildResult;
}

const fake = (behaviour: FakeBehaviour) => writeFakeTfjsNode(work, behaviour);

describe('auto with a tfjs-node that', () => {
  it('works: picks node after one probe, and later starts answer the probe from the cache', () => {
    const works = fake('works');
    const first = initInChild(works);
    expect(first.info).toMatchObject({ backend: 'node', fallback_reasons: [], versions: { 'tfjs-node': '4.22.0-fake' } });
    expect(first.tfBackend).toBe('tensorflow');
    expect(first.product).toEqual([3, 3, 7, 7]);
    expect(works.loads()).toBe(2); // the probe's child process, then this process
    expect(initInChild(works).info?.backend).toBe('node');
    expect(works.loads()).toBe(3); // no second probe
  });

  it('throws on its first op (tfjs-node 4.22 on Node >= 23): falls back to wasm with the reason', () => {
    const broken = fake('throws-on-op');
    const result = initInChild(broken);
    expect(result.info?.backend).toBe('wasm');
    expect(result.product).toEqual([3, 3, 7, 7]);
    expect(result.line).toMatch(/^engine: wasm \[.*\] \(skipped node: .*isNullOrUndefined.*\(tfjs-node 4\.22 does not run on Node .*use Node 20 or 22/);
    expect(broken.loads()).toBe(1); // only in the probe
    expect(initInChild(broken, { choice: 'node' }).error).toMatch(/^the node engine is not available here \(node: .*isNullOrUndefined.*\); try --backend auto$/);
    expect(broken.loads()).toBe(1); // the failure is cached too
  });

  it('passed its probe once but now fails its first op in-process: the real op at activation catches it', () => {
    const changed = fake('works');
    expect(initInChild(changed).info?.backend).toBe('node');
    changed.become('throws-on-op'); // same binding file, so the cached probe says "ok"
    const result = initInChild(changed);
    expect(result.info?.backend).toBe('wasm');
    expect(result.tfBackend).toBe('wasm');
    expect(result.info?.fallback_reasons.join()).toMatch(/^node: .*isNullOrUndefined/);
  });

  it('dies with SIGILL (a CPU without AVX): only its probe dies; auto uses wasm and remembers', () => {
    const sigill = fake('sigill');
    const result = initInChild(sigill);
    expect(result.info?.backend).toBe('wasm');
    expect(result.info?.fallback_reasons).toEqual([expect.stringMatching(/^node: loading it in a child process crashed it with SIGILL \(a CPU without AVX/)]);
    expect(initInChild(sigill).info?.backend).toBe('wasm');
    expect(sigill.loads()).toBe(1);
  });

  it('hangs: the probe is killed after its timeout, and later starts do not wait for it again', () => {
    const hangs = fake('hangs');
    const result = initInChild(hangs, { probeTimeoutMs: 1500 });
    expect(result.info?.backend).toBe('wasm');
    expect(result.info?.fallback_reasons).toEqual(['node: loading it in a child process did not finish within 1.5 s']);
    const again = initInChild(hangs, { probeTimeoutMs: 1500 });
    expect(again.info?.fallback_reasons).toEqual([
      expect.stringMatching(/^node: loading it in a child process did not finish within 1\.5 s \(remembered in .*node-engine-probe\.json; delete it to probe again\)$/),
    ]);
    expect(hangs.loads()).toBe(1);
  });

  it('is installed without its native binding (install script not run): says so, with the fix', () => {
    const noBinding = fake('no-binding');
    const result = initInChild(noBinding);
    expect(result.info?.backend).toBe('wasm');
    expect(result.line).toContain('node: @tensorflow/tfjs-node is installed but its native binding is missing');
    expect(result.line).toContain('"allowScripts"');
    expect(result.line).toContain('fix: npm rebuild @tensorflow/tfjs-node (npm 11+: npm approve-scripts @tensorflow/tfjs-node first)');
    expect(noBinding.loads()).toBe(0);
  });

  it('is skipped entirely with MLDEPLOY_SKIP_NODE=1', () => {
    const works = fake('works');
    const before = works.loads();
    const result = initInChild(works, { env: { MLDEPLOY_SKIP_NODE: '1' } });
    expect(result.info?.backend).toBe('wasm');
    expect(result.info?.fallback_reasons).toEqual(['node: skipped (MLDEPLOY_SKIP_NODE=1)']);
    expect(works.loads()).toBe(before);
  });
});
