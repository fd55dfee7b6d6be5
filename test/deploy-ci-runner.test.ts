/**
 * deploy/ci/run-locally.js, the runner that executes the CI example's steps on this machine:
 * checked on small workflows written here (the real example needs a trained model and runs
 * through `npm run ci:example`).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoPath } from './helpers/deploy-validators';

const RUNNER = repoPath('deploy/ci/run-locally.js');
const NODE_MAJOR = process.versions.node.split('.')[0];

function runWorkflow(workspace: string, workflow: string, extraArgs: string[] = []) {
  const file = path.join(workspace, 'workflow.yml');
  fs.writeFileSync(file, workflow);
  const result = spawnSync(process.execPath, [RUNNER, '--workflow', file, '--workspace', workspace, ...extraArgs], { encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** True while the process exists and is not a zombie waiting for its parent. */
function isRunning(pid: number): boolean {
  for (let attempt = 0; attempt < 50; attempt++) {
    let state: string;
    try {
      state = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0];
    } catch {
      return false;
    }
    if (state === 'Z') return false;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  }
  return true;
}

describe('run-locally.js', () => {
  let workspace: string;
  beforeEach(() => {
    workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'mldeploy-ci-runner-'));
  });
  afterEach(() => fs.rmSync(workspace, { recursive: true, force: true }));

  it('runs the steps in order with workflow, job and step env, and uploads artifacts', () => {
    const { status, output } = runWorkflow(
      workspace,
      `name: t
on: push
env: { LEVEL: workflow, SHARED: from-workflow }
jobs:
  only:
    runs-on: ubuntu-24.04
    env: { SHARED: from-job }
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
        with: { node-version: ${NODE_MAJOR} }
      - uses: actions/cache@v4
        with: { path: data, key: k }
      - name: write
        env: { STEP: from-step }
        run: |
          mkdir -p out
          echo "$LEVEL $SHARED $STEP $CI" > out/env.txt
          pwd > out/pwd.txt
      - name: in a subfolder
        working-directory: out
        run: echo second >> env.txt
      - uses: actions/upload-artifact@v4
        with:
          name: report
          path: |
            out/
            missing.txt
`,
    );
    expect(output).toContain('job only: passed');
    expect(status).toBe(0);
    expect(fs.readFileSync(path.join(workspace, 'out/env.txt'), 'utf8')).toBe('workflow from-job from-step true\nsecond\n');
    expect(fs.realpathSync(fs.readFileSync(path.join(workspace, 'out/pwd.txt'), 'utf8').trim())).toBe(fs.realpathSync(workspace));
    expect(fs.readFileSync(path.join(workspace, 'ci-artifacts/report/out/env.txt'), 'utf8')).toContain('from-step');
    expect(output).toContain('artifact report: 1 of 2 paths copied');
  });

  it('fails the job on a failing step (pipefail too), skips later steps but runs if: always()', () => {
    const { status, output } = runWorkflow(
      workspace,
      `on: push
jobs:
  gate:
    runs-on: ubuntu-24.04
    steps:
      - name: gate
        run: |
          false | cat
          echo "not reached" > reached.txt
      - name: after
        run: touch after.txt
      - name: on failure
        if: failure()
        run: touch failure.txt
      - name: cleanup
        if: always()
        run: touch cleanup.txt
`,
    );
    expect(status).toBe(1);
    expect(output).toMatch(/x failed\s+gate .*exit code 1/);
    expect(output).toContain('- skipped  after');
    for (const file of ['reached.txt', 'after.txt']) expect(fs.existsSync(path.join(workspace, file))).toBe(false);
    for (const file of ['failure.txt', 'cleanup.txt']) expect(fs.existsSync(path.join(workspace, file))).toBe(true);
  });

  it('refuses what it cannot run faithfully: ${{ }} in run blocks, unknown actions, another Node major', () => {
    const job = (step: string) => `on: push\njobs:\n  j:\n    runs-on: ubuntu-24.04\n    steps:\n${step}`;
    const expression = runWorkflow(workspace, job('      - run: echo "${{ github.sha }}"\n'));
    expect(expression.status).toBe(2);
    expect(expression.output).toContain('expressions are evaluated by GitHub only');
    const action = runWorkflow(workspace, job('      - uses: docker/build-push-action@v6\n'));
    expect(action.status).toBe(2);
    expect(action.output).toContain('has no local equivalent');
    const node = runWorkflow(workspace, job('      - uses: actions/setup-node@v4\n        with: { node-version: 12 }\n'));
    expect(node.status).toBe(1);
    expect(node.output).toContain('Node 12 requested');
  });

  it('ends what steps left running in the background when the job ends', () => {
    const { status, output } = runWorkflow(workspace, `on: push\njobs:\n  j:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: |\n          sleep 300 &\n          echo $! > bg.pid\n`);
    expect(status).toBe(0);
    expect(output).toContain('ended 1 process group(s) that steps left running');
    const pid = Number(fs.readFileSync(path.join(workspace, 'bg.pid'), 'utf8'));
    expect(isRunning(pid)).toBe(false);
  });

  it('stops a job at its timeout-minutes', () => {
    const { status, output } = runWorkflow(workspace, `on: push\njobs:\n  j:\n    runs-on: ubuntu-24.04\n    timeout-minutes: 0.02\n    steps:\n      - run: sleep 30\n`);
    expect(status).toBe(1);
    expect(output).toContain("stopped: the job's timeout-minutes ran out");
  });
});
