/**
 * deploy/prometheus/alerts.yml: `promtool check rules` and `promtool test rules`
 * (alerts.test.yml) pass, and each is shown to catch a broken copy; every alert carries `for`,
 * a severity and a summary; the compose Prometheus loads the file it mounts (promtool check
 * config). The metric names the rules use are checked against a live /metrics in
 * deploy-metrics.test.ts. promtool comes from Debian's prometheus package (.ci/run installs it).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseYamlFile, readText, repoPath } from './helpers/deploy-validators';

const RULES = repoPath('deploy/prometheus/alerts.yml');
const RULE_TESTS = repoPath('deploy/prometheus/alerts.test.yml');
const hasPromtool = spawnSync('promtool', ['--version']).status === 0;
// Under CI (CI=true) a missing promtool is a failure, not a skip.
const runs = hasPromtool || ((process.env.CI ?? '') !== '' && process.env.CI !== 'false');
const withPromtool = runs ? it : it.skip;
const skipNote = runs ? '' : ' (skipped: promtool not installed and CI not set; apt-get install prometheus)';

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'mldeploy-alerts-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

function promtool(...args: string[]): { status: number | null; output: string } {
  const run = spawnSync('promtool', args, { encoding: 'utf8', cwd: scratch });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/** alerts.yml with `edit` applied, next to a copy of the rule tests (which name alerts.yml). */
function scratchCopy(dir: string, edit: (rules: string) => string = (r) => r): string {
  const target = path.join(scratch, dir);
  fs.mkdirSync(target, { recursive: true });
  fs.writeFileSync(path.join(target, 'alerts.yml'), edit(readText(RULES)));
  fs.copyFileSync(RULE_TESTS, path.join(target, 'alerts.test.yml'));
  return target;
}

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
const alerts: AlertRule[] = parseYamlFile<{ groups: { rules: AlertRule[] }[] }>(RULES).groups.flatMap((g) => g.rules);

describe('Prometheus alert rules (deploy/prometheus/alerts.yml)', () => {
  withPromtool(`pass promtool check rules, which rejects a broken copy${skipNote}`, () => {
    const ok = promtool('check', 'rules', RULES);
    expect(ok.output).toContain('SUCCESS: 5 rules found');
    expect(ok.status).toBe(0);
    const broken = scratchCopy('broken-syntax', (r) => r.replace('max by (model_version) (mldeploy_drift_detected)', 'max by (model_version (mldeploy_drift_detected)'));
    const check = promtool('check', 'rules', path.join(broken, 'alerts.yml'));
    expect(check.status).not.toBe(0);
    expect(check.output).toMatch(/parse error/);
  });

  withPromtool(`pass their unit tests (promtool test rules alerts.test.yml), which fail when a threshold moves${skipNote}`, () => {
    const ok = promtool('test', 'rules', path.join(scratchCopy('as-is'), 'alerts.test.yml'));
    expect(ok.output).toContain('SUCCESS');
    expect(ok.status).toBe(0);
    const laxer = scratchCopy('laxer', (r) => r.replace('mldeploy_estimated_accuracy) < 0.60', 'mldeploy_estimated_accuracy) < 0.40'));
    const failed = promtool('test', 'rules', path.join(laxer, 'alerts.test.yml'));
    expect(failed.status).not.toBe(0);
    expect(failed.output).toMatch(/alertname: MldeployEstimatedAccuracyLow/);
  });

  it('cover drift, drift over 3 windows, estimated accuracy, error ratio and the latency SLO', () => {
    expect(alerts.map((a) => a.alert)).toEqual([
      'MldeployDriftDetected',
      'MldeployDriftPersistent',
      'MldeployEstimatedAccuracyLow',
      'MldeployHighErrorRatio',
      'MldeployLatencySLOBreached',
    ]);
  });

  it.each(alerts.map((a) => [a.alert, a] as const))('%s has a for duration, a severity and a summary', (_name, alert) => {
    expect(alert.for).toMatch(/^\d+[smh]$/);
    expect(['warning', 'critical']).toContain(alert.labels?.severity);
    expect(alert.annotations?.summary).toMatch(/\w/);
    expect(alert.annotations?.description).toMatch(/\w/);
  });

  withPromtool(`are loaded by the compose Prometheus from the path docker-compose.yml mounts them at${skipNote}`, () => {
    const compose = parseYamlFile(repoPath('deploy/compose/docker-compose.yml'));
    const mount = compose.services.prometheus.volumes.find((v: string) => v.startsWith('../prometheus/alerts.yml:'));
    const [, containerPath] = mount.split(':');
    const config = readText(repoPath('deploy/compose/prometheus.yml'));
    expect(parseYamlFile(repoPath('deploy/compose/prometheus.yml')).rule_files).toEqual([containerPath]);
    // Checked here with the container path pointing at the repository's file.
    const local = path.join(scratch, 'prometheus.yml');
    fs.writeFileSync(local, config.replace(containerPath, RULES));
    const check = promtool('check', 'config', local);
    expect(check.output).toContain('SUCCESS: 5 rules found');
    expect(check.status).toBe(0);
  });
});
