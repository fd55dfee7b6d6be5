#!/usr/bin/env node
// @ts-check
/**
 * Runs the steps of a GitHub Actions job on this machine, so the CI example
 * (deploy/ci/github-actions.yml) is tried exactly as written instead of as a copy:
 * each `run:` block goes through `bash --noprofile --norc -eo pipefail` like on a GitHub
 * runner, with the workflow, job and step `env`, and `if: always() / failure()` honoured.
 * The few actions the example uses get local equivalents:
 *   actions/checkout        -> the workspace is this checkout
 *   actions/setup-node      -> checks that this Node has the requested major version
 *   actions/cache           -> nothing (there is no cache to restore here)
 *   actions/upload-artifact -> copies the paths into <artifacts-dir>/<name>/
 * Any other action or a `${{ }}` expression in a run block stops the runner: it would
 * not be running what CI runs. Processes that steps leave running in the background (the
 * server) are sent SIGTERM when the job ends, as GitHub's runner does.
 *
 * Usage: node deploy/ci/run-locally.js [--workflow <file>] [--job <id>]
 *                                      [--workspace <dir>] [--artifacts-dir <dir>]
 * Needs the `yaml` package (a devDependency: run `npm ci` first).
 */
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const DEFAULTS = {
  workflow: path.join(REPO_ROOT, 'deploy', 'ci', 'github-actions.yml'),
  workspace: REPO_ROOT,
  artifactsDir: 'ci-artifacts',
};

/** @param {string[]} argv */
function parseArgs(argv) {
  const options = { ...DEFAULTS, job: /** @type {string | undefined} */ (undefined) };
  const names = { '--workflow': 'workflow', '--job': 'job', '--workspace': 'workspace', '--artifacts-dir': 'artifactsDir' };
  for (let i = 0; i < argv.length; i += 2) {
    const key = /** @type {keyof typeof names} */ (argv[i]);
    if (!(key in names) || argv[i + 1] === undefined) {
      throw new UsageError(`usage: run-locally.js [--workflow <file>] [--job <id>] [--workspace <dir>] [--artifacts-dir <dir>] (bad argument: ${argv[i]})`);
    }
    /** @type {Record<string, string>} */ (options)[names[key]] = argv[i + 1];
  }
  return options;
}

class UsageError extends Error {}

/** Loads the workflow and picks the job (the only one unless --job names it). */
function loadJob(workflowFile, jobId) {
  let YAML;
  try {
    YAML = require('yaml');
  } catch {
    throw new UsageError('the runner reads the workflow with the `yaml` package: run `npm ci` first');
  }
  const workflow = YAML.parse(fs.readFileSync(workflowFile, 'utf8'));
  const jobIds = Object.keys(workflow?.jobs ?? {});
  const id = jobId ?? (jobIds.length === 1 ? jobIds[0] : undefined);
  if (!id || !workflow.jobs[id]) {
    throw new UsageError(`pick a job with --job (jobs in ${workflowFile}: ${jobIds.join(', ') || 'none'})`);
  }
  return { workflow, id, job: workflow.jobs[id] };
}

/** GitHub's status functions; anything else is refused rather than guessed. */
function shouldRun(condition, failed) {
  const expression = String(condition ?? 'success()').replace(/^\$\{\{\s*|\s*\}\}$/g, '').trim();
  switch (expression) {
    case 'success()':
      return !failed;
    case 'failure()':
      return failed;
    case 'always()':
      return true;
    case 'cancelled()':
      return false;
    default:
      throw new UsageError(`unsupported if: condition "${condition}" (the local runner knows success(), failure(), always(), cancelled())`);
  }
}

/** Stringifies env values as GitHub does (numbers and booleans become strings). */
function envStrings(env) {
  return Object.fromEntries(Object.entries(env ?? {}).map(([key, value]) => [key, String(value)]));
}

function runScript(step, context, timeoutMs) {
  if (String(step.run).includes('${{')) {
    throw new UsageError(`step "${context.label}": \${{ }} expressions are evaluated by GitHub only; use env variables in run blocks`);
  }
  const cwd = path.resolve(context.workspace, step['working-directory'] ?? '.');
  const result = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', String(step.run)], {
    cwd,
    env: { ...context.env, ...envStrings(step.env) },
    stdio: 'inherit',
    timeout: timeoutMs,
    killSignal: 'SIGTERM',
    // Its own process group, so whatever the step leaves running in the background can be
    // ended with the job (GitHub's runner cleans up orphan processes the same way).
    detached: true,
  });
  if (result.pid) context.processGroups.push(result.pid);
  if (result.error && /** @type {NodeJS.ErrnoException} */ (result.error).code === 'ETIMEDOUT') return "stopped: the job's timeout-minutes ran out";
  if (result.error) return `could not run bash: ${result.error.message}`;
  if (result.signal) return `stopped by ${result.signal}`;
  return result.status === 0 ? null : `exit code ${result.status}`;
}

function runAction(step, context) {
  const [action] = String(step.uses).split('@');
  const inputs = step.with ?? {};
  switch (action) {
    case 'actions/checkout':
      log(`  using the checkout at ${context.workspace}`);
      return null;
    case 'actions/setup-node': {
      const wanted = String(inputs['node-version'] ?? '').split('.')[0];
      const have = process.versions.node.split('.')[0];
      if (wanted && wanted !== have) return `Node ${wanted} requested, this machine runs Node ${process.versions.node}`;
      log(`  Node ${process.versions.node}`);
      return null;
    }
    case 'actions/cache':
      log(`  no cache to restore locally (path: ${String(inputs.path ?? '').trim()})`);
      return null;
    case 'actions/upload-artifact':
      return uploadArtifact(inputs, context);
    default:
      throw new UsageError(`step "${context.label}": action ${step.uses} has no local equivalent in this runner`);
  }
}

function uploadArtifact(inputs, context) {
  const name = String(inputs.name ?? 'artifact');
  const target = path.resolve(context.workspace, context.artifactsDir, name);
  const paths = String(inputs.path ?? '')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  fs.rmSync(target, { recursive: true, force: true });
  fs.mkdirSync(target, { recursive: true });
  let copied = 0;
  for (const entry of paths) {
    const source = path.resolve(context.workspace, entry);
    if (!fs.existsSync(source)) {
      log(`  no file at ${entry}`);
      continue;
    }
    fs.cpSync(source, path.join(target, path.relative(context.workspace, source)), { recursive: true });
    copied++;
  }
  const policy = inputs['if-no-files-found'] ?? 'warn';
  if (copied === 0 && policy === 'error') return `no files found for artifact ${name}`;
  log(`  artifact ${name}: ${copied} of ${paths.length} paths copied to ${path.relative(context.workspace, target) || '.'}`);
  return null;
}

function log(line) {
  process.stdout.write(line + '\n');
}

function runJob(options) {
  const workspace = path.resolve(options.workspace);
  const { workflow, id, job } = loadJob(path.resolve(options.workflow), options.job);
  const deadline = Date.now() + Number(job['timeout-minutes'] ?? 360) * 60_000;
  const context = {
    workspace,
    artifactsDir: options.artifactsDir,
    label: '',
    /** @type {number[]} */
    processGroups: [],
    env: {
      ...process.env,
      CI: 'true',
      GITHUB_WORKSPACE: workspace,
      ...envStrings(workflow.env),
      ...envStrings(job.env),
    },
  };
  log(`job ${id} from ${options.workflow} in ${workspace}`);
  let failed = false;
  const summary = [];
  for (const [index, step] of (job.steps ?? []).entries()) {
    context.label = step.name ?? step.uses ?? `step ${index + 1}`;
    if (!shouldRun(step.if, failed)) {
      summary.push(`- skipped  ${context.label}`);
      continue;
    }
    log(`\n== ${context.label}`);
    const started = Date.now();
    const remaining = deadline - started;
    const problem =
      remaining <= 0 ? 'job timeout-minutes reached' : step.run !== undefined ? runScript(step, context, remaining) : runAction(step, context);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    if (problem && !step['continue-on-error']) failed = true;
    summary.push(`${problem ? 'x failed ' : '+ ok     '} ${context.label} (${seconds} s)${problem ? `: ${problem}` : ''}`);
    if (problem) log(`!! ${context.label}: ${problem}`);
  }
  const orphans = endProcessGroups(context.processGroups);
  if (orphans > 0) log(`\nended ${orphans} process group(s) that steps left running`);
  log(`\njob ${id}: ${failed ? 'FAILED' : 'passed'}\n${summary.join('\n')}`);
  return failed ? 1 : 0;
}

/** SIGTERM to each step's process group that still has members; returns how many had. */
function endProcessGroups(groups) {
  let ended = 0;
  for (const group of groups) {
    try {
      process.kill(-group, 'SIGTERM');
      ended++;
    } catch {
      // ESRCH: nothing of that step is still running.
    }
  }
  return ended;
}

try {
  process.exitCode = runJob(parseArgs(process.argv.slice(2)));
} catch (err) {
  process.stderr.write(`run-locally: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = err instanceof UsageError ? 2 : 1;
}
