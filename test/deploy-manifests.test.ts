/**
 * deploy/ manifests: each file parses and passes its tool's official schema or validator,
 * each validator is shown to reject a broken copy (so a pass means something), and the
 * files agree with each other (ports, paths, names, timeouts).
 */
import { Copy, DockerfileParser } from 'dockerfile-ast';
import * as grafanaSchema from '@grafana/schema';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import pino from 'pino';
import { openServerLog, SERVER_LOG_FILE } from '../src/serve';
import {
  ComposeFile,
  composeSchemaErrors,
  dockerfileProblems,
  filesUnder,
  kubernetesSchemaErrors,
  kubernetesTypeImport,
  logrotateDebug,
  parseYamlDocuments,
  parseYamlFile,
  readText,
  repoPath,
  systemdVerify,
  typeErrorsOfLiterals,
  WorkflowFile,
  workflowErrors,
} from './helpers/deploy-validators';

const SERVE_DRAIN_SECONDS = 10; // DRAIN_TIMEOUT_MS in src/serve/server.ts
const PRESTOP_SLEEP_SECONDS = 5;

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'mldeploy-deploy-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));
function writeScratch(name: string, text: string): string {
  const file = path.join(scratch, name);
  fs.writeFileSync(file, text);
  return file;
}

describe('every YAML and JSON file under deploy/', () => {
  const files = filesUnder('deploy').filter((f) => /\.(ya?ml|json)$/.test(f));

  it('finds the manifests', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'deploy/ci/github-actions.yml',
        'deploy/compose/docker-compose.yml',
        'deploy/compose/prometheus.yml',
        'deploy/compose/grafana/dashboards/mldeploy.json',
        'deploy/k8s/deployment.yaml',
        'deploy/k8s/hpa.yaml',
      ]),
    );
  });

  it.each(files)('%s parses without errors or duplicate keys', (file) => {
    const text = readText(repoPath(file));
    const documents = file.endsWith('.json') ? [JSON.parse(text)] : parseYamlDocuments(text);
    expect(documents.length).toBeGreaterThan(0);
    for (const document of documents) expect(document).toBeInstanceOf(Object);
  });
});

describe('Dockerfile', () => {
  const text = readText(repoPath('Dockerfile'));
  const instructions = DockerfileParser.parse(text).getInstructions();
  const named = (keyword: string) => instructions.filter((i) => i.getKeyword() === keyword);
  const lastStageStart = instructions.map((i) => i.getKeyword()).lastIndexOf('FROM');
  const finalStage = instructions.slice(lastStageStart);

  it('passes dockerfile-utils validation, which rejects a broken copy', () => {
    expect(dockerfileProblems(text)).toEqual([]);
    const broken = text.replace('HEALTHCHECK --interval', 'HEALTHCHECK --intervall').replace('COPY --from=model', 'COPY --fromm=model');
    expect(dockerfileProblems(broken)).toEqual([expect.stringContaining('Unknown flag: fromm'), expect.stringContaining('Unknown flag: intervall')]);
  });

  it('is multi-stage on node:20-slim and runs as a non-root user', () => {
    expect(named('FROM').length).toBeGreaterThanOrEqual(3);
    expect(text).toMatch(/^ARG NODE_IMAGE=node:20-slim$/m);
    const users = finalStage.filter((i) => i.getKeyword() === 'USER').map((i) => i.getArgumentsContent());
    expect(users).toEqual(['mldeploy']);
    expect(text).toMatch(/useradd --system --uid 10001 /);
  });

  it('installs production dependencies only and keeps tfjs-node only when a real op runs on it, else wasm', () => {
    expect(text).toContain('npm ci --omit=dev');
    expect(text).toMatch(/if npm rebuild @tensorflow\/tfjs-node \\\n\s+&& TF_CPP_MIN_LOG_LEVEL=2 node -e ".*tf\.add\(.*dataSync\(\).*"; \\\n\s+then .*else .*rm -rf node_modules\/@tensorflow\/tfjs-node/s);
    const copiedModules = finalStage.filter((i): i is Copy => i instanceof Copy && Boolean(i.getArgumentsContent()?.includes('node_modules')));
    expect(copiedModules.map((i) => [i.getFromFlag()?.getValue(), i.getArgumentsContent()])).toEqual([['prod-deps', '/app/node_modules ./node_modules']]);
  });

  it('exposes 8000, health-checks /ping with node (no curl in slim) and takes the model from a build context or /models', () => {
    expect(named('EXPOSE').map((i) => i.getArgumentsContent())).toEqual(['8000']);
    const healthcheck = named('HEALTHCHECK')[0].getArgumentsContent() ?? '';
    expect(healthcheck).toMatch(/CMD \["node", "-e", ".*\/ping.*"\]/);
    expect(healthcheck).not.toContain('curl');
    expect(text).toMatch(/^FROM scratch AS model$/m);
    expect(text).toContain('COPY --from=model / /models/');
    expect(named('CMD')[0].getArgumentsContent()).toContain('"--model", "/models"');
  });

  it('.dockerignore keeps data, models, node_modules, plots and logs out of the context', () => {
    const ignored = readText(repoPath('.dockerignore')).split('\n').map((l) => l.trim());
    for (const entry of ['data', 'saved_models', 'node_modules', 'plots', 'logs', '.git']) expect(ignored).toContain(entry);
  });
});

describe('systemd unit', () => {
  const unitFile = repoPath('deploy/systemd/mldeploy.service');
  const unit = readText(unitFile);
  const verify = systemdVerify(unitFile);
  const itWithSystemd = verify.available ? it : it.skip;

  itWithSystemd('passes systemd-analyze verify, which flags a broken copy', () => {
    expect(verify.output).toBe('');
    expect(verify.ok).toBe(true);
    const broken = systemdVerify(writeScratch('broken.service', unit.replace('Restart=on-failure', 'Restart=sometimes').replace(/^KillMode=/m, 'KillMod=')));
    expect(broken.output).toMatch(/restart specifier.*sometimes/);
    expect(broken.output).toMatch(/Unknown key 'KillMod'/);
  });

  it('runs as a dedicated user, restarts on failure, reads the env file and stops within serve\'s drain', () => {
    const value = (key: string) => unit.match(new RegExp(`^${key}=(.*)$`, 'm'))?.[1];
    expect(value('User')).toBe('mldeploy');
    expect(value('Restart')).toBe('on-failure');
    expect(value('EnvironmentFile')).toBe('/etc/mldeploy/mldeploy.env');
    expect(value('KillSignal')).toBe('SIGTERM');
    expect(value('ExecReload')).toContain('-HUP');
    expect(Number(value('TimeoutStopSec'))).toBeGreaterThan(SERVE_DRAIN_SECONDS);
    const env = readText(repoPath('deploy/systemd/mldeploy.env.example'));
    for (const key of ['HOST', 'PORT', 'MLDEPLOY_MODEL', 'MLDEPLOY_API_KEY']) expect(env).toMatch(new RegExp(`^#?${key}=`, 'm'));
    expect(value('ExecStart')).toContain('--model ${MLDEPLOY_MODEL}');
  });
});

describe('logrotate rules for server.log', () => {
  const rules = readText(repoPath('deploy/systemd/mldeploy.logrotate'));
  const unit = readText(repoPath('deploy/systemd/mldeploy.service'));

  it('rotate the file the systemd unit makes serve write, as the service user', () => {
    const logDir = unit.match(/--log-dir (\S+)/)![1];
    expect(rules).toContain(`${path.posix.join(logDir, SERVER_LOG_FILE)} {`);
    expect(unit).toMatch(new RegExp(`^LogsDirectory=${path.posix.basename(logDir)}$`, 'm'));
    expect(rules).toMatch(/^\s+su mldeploy mldeploy$/m);
    expect(rules).toMatch(/^\s+copytruncate$/m);
  });

  const localCopy = (text: string) => {
    const group = spawnSync('id', ['-gn'], { encoding: 'utf8' }).stdout.trim();
    return text.replace('/var/log/mldeploy/', `${scratch}/`).replace('su mldeploy mldeploy', `su ${os.userInfo().username} ${group}`);
  };
  const debug = logrotateDebug(writeScratch('logrotate.conf', localCopy(rules)), path.join(scratch, 'logrotate.state'));
  const itWithLogrotate = debug.available ? it : it.skip;

  itWithLogrotate('parse cleanly with logrotate, which flags a broken copy', () => {
    expect(debug.output).not.toMatch(/error:/);
    const misspelt = localCopy(rules).replace(/^(\s+)copytruncate$/m, '$1copytruncat');
    const broken = logrotateDebug(writeScratch('broken.conf', misspelt), path.join(scratch, 'broken.state'));
    expect(broken.output).toMatch(/unknown option 'copytruncat'/);
  });

  it('copytruncate under a running logger: later lines restart at the top of server.log, earlier ones are in the copy', async () => {
    const logDir = fs.mkdtempSync(path.join(scratch, 'serverlog-'));
    const destination = openServerLog(logDir);
    await new Promise((resolve) => destination.once('ready', resolve));
    const logger = pino({ base: null, timestamp: false }, destination);
    for (let i = 0; i < 3; i++) logger.info({ request: i }, 'before');
    destination.flushSync();
    const file = path.join(logDir, SERVER_LOG_FILE);
    // What copytruncate does.
    fs.copyFileSync(file, `${file}.1`);
    fs.truncateSync(file, 0);
    for (let i = 3; i < 5; i++) logger.info({ request: i }, 'after');
    destination.flushSync();
    const lines = (f: string) => fs.readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l).request);
    // Append mode: no hole of NUL bytes where the old content was, every line parses.
    expect(fs.readFileSync(file, 'utf8')[0]).toBe('{');
    expect(lines(file)).toEqual([3, 4]);
    expect(lines(`${file}.1`)).toEqual([0, 1, 2]);
    await new Promise((resolve) => {
      destination.once('close', resolve);
      destination.end();
    });
  });
});

/** The fields of a Grafana panel these tests read. */
interface GrafanaPanel {
  id?: number;
  type: string;
  title: string;
  datasource?: { uid: string };
  targets?: { expr: string; datasource: { uid: string } }[];
  fieldConfig?: { defaults?: { thresholds?: { mode: string } } };
}

describe('docker compose', () => {
  const compose = parseYamlFile<ComposeFile>(repoPath('deploy/compose/docker-compose.yml'));

  it('matches the compose-spec schema, which rejects a broken copy', () => {
    expect(composeSchemaErrors(compose)).toEqual([]);
    const broken = { ...compose, services: { ...compose.services, api: { ...compose.services.api, ports: 8000, healthchek: {} } } };
    expect(composeSchemaErrors(broken)).toEqual(
      expect.arrayContaining([expect.stringContaining('/services/api/ports must be array'), expect.stringContaining('"additionalProperty":"healthchek"')]),
    );
  });

  it('Prometheus scrapes the api service on its container port at /metrics', () => {
    const prometheus = parseYamlFile<{ scrape_configs: { job_name: string; metrics_path: string; static_configs: { targets: string[] }[] }[] }>(
      repoPath('deploy/compose/prometheus.yml'),
    );
    const job = prometheus.scrape_configs.find((c) => c.job_name === 'mldeploy')!;
    expect(job.metrics_path).toBe('/metrics');
    expect(job.static_configs[0].targets).toEqual([`api:${compose.services.api.environment.PORT}`]);
    expect(compose.services.api.ports).toEqual([`8000:${compose.services.api.environment.PORT}`]);
    expect(compose.services.prometheus.volumes).toContain('./prometheus.yml:/etc/prometheus/prometheus.yml:ro');
  });

  it('Grafana is provisioned with the Prometheus datasource and the dashboard folder it mounts', () => {
    const datasources = parseYamlFile<{ datasources: { uid: string }[] }>(repoPath('deploy/compose/grafana/provisioning/datasources/prometheus.yml'));
    const providers = parseYamlFile<{ providers: { options: { path: string } }[] }>(repoPath('deploy/compose/grafana/provisioning/dashboards/mldeploy.yml'));
    const dashboard = JSON.parse(readText(repoPath('deploy/compose/grafana/dashboards/mldeploy.json')));
    const source = datasources.datasources[0];
    expect(source).toMatchObject({ type: 'prometheus', url: 'http://prometheus:9090' });
    expect(compose.services.prometheus.ports).toEqual(['9090:9090']);
    const dashboardMount = compose.services.grafana.volumes.find((v) => v.startsWith('./grafana/dashboards:'));
    expect(dashboardMount!.split(':')[1]).toBe(providers.providers[0].options.path);
    expect(compose.services.grafana.volumes).toContain('./grafana/provisioning:/etc/grafana/provisioning:ro');
    const queried = (dashboard.panels as GrafanaPanel[]).filter((p) => p.type !== 'row');
    const uids = new Set([...queried, dashboard.templating.list[0] as GrafanaPanel].flatMap((p) => [p.datasource?.uid, ...(p.targets ?? []).map((t) => t.datasource.uid)]));
    expect([...uids]).toEqual([source.uid]);
  });

  it('gives the API longer to stop than serve\'s drain', () => {
    expect(parseInt(compose.services.api.stop_grace_period, 10)).toBeGreaterThan(SERVE_DRAIN_SECONDS);
  });
});

/** The fields of the k8s manifests the tests read (the files are checked against kubernetes-models too). */
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
}
interface Probe {
  httpGet: { path: string; port: string };
}
interface ManifestsByKind {
  Deployment: Manifest & {
    spec: {
      replicas?: number;
      template: {
        metadata: { labels: Record<string, string> };
        spec: {
          terminationGracePeriodSeconds: number;
          securityContext: Record<string, unknown>;
          containers: ({ ports: unknown[]; resources: { requests: unknown; limits: unknown } } & Record<'readinessProbe' | 'livenessProbe' | 'startupProbe', Probe> & {
            lifecycle: { preStop: { exec: { command: string[] } } };
            envFrom: { configMapRef: { name: string } }[];
          })[];
        };
      };
    };
  };
  ConfigMap: Manifest & { data: Record<string, string> };
  Service: Manifest & { spec: { selector: Record<string, string>; ports: { targetPort: string }[] } };
  HorizontalPodAutoscaler: Manifest & { spec: { scaleTargetRef: unknown; minReplicas: number; maxReplicas: number; metrics: unknown[] } };
}

describe('Kubernetes manifests', () => {
  const files = filesUnder('deploy/k8s').filter((f) => f.endsWith('.yaml'));
  const manifests = files.flatMap((f) => parseYamlDocuments(readText(repoPath(f)))) as Manifest[];
  const byKind = <K extends keyof ManifestsByKind>(kind: K) => manifests.find((m) => m.kind === kind) as ManifestsByKind[K];

  it('validate against the Kubernetes schemas (kubernetes-models), which reject a broken copy', () => {
    expect(manifests.flatMap(kubernetesSchemaErrors)).toEqual([]);
    expect(manifests.map((m) => `${m.kind}/${m.metadata.name}`).sort()).toEqual([
      'ConfigMap/mldeploy-config',
      'Deployment/mldeploy',
      'HorizontalPodAutoscaler/mldeploy',
      'Service/mldeploy',
    ]);
    const broken = { ...byKind('HorizontalPodAutoscaler'), spec: { ...byKind('HorizontalPodAutoscaler').spec, minReplicas: 'one' } };
    expect(kubernetesSchemaErrors(broken)).toEqual([expect.stringContaining('minReplicas must be integer')]);
  });

  it('have no misspelt fields (TypeScript excess-property check against the kubernetes-models types)', () => {
    const imports = manifests.map((m, i) => kubernetesTypeImport(m.apiVersion, m.kind, `T${i}`)).join('\n');
    const values = manifests.map((m, i) => ({ type: `T${i}`, value: m }));
    expect(typeErrorsOfLiterals(imports, values)).toEqual([]);
    const deployment = structuredClone(byKind('Deployment'));
    Object.assign(deployment.spec.template.spec.containers[0].readinessProbe, { periodSecond: 5 });
    const errors = typeErrorsOfLiterals(kubernetesTypeImport('apps/v1', 'Deployment', 'T'), [{ type: 'T', value: deployment }]);
    expect(errors).toEqual([expect.stringMatching(/'"periodSecond"' does not exist in type 'IProbe'/)]);
  });

  it('Deployment: /ping probes, resources, preStop drain and a grace period that covers it', () => {
    const pod = byKind('Deployment').spec.template.spec;
    const container = pod.containers[0];
    for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe'] as const) {
      expect(container[probe].httpGet).toEqual({ path: '/ping', port: 'http' });
    }
    expect(container.ports).toEqual([{ name: 'http', containerPort: 8000, protocol: 'TCP' }]);
    expect(container.resources.requests).toEqual({ cpu: '500m', memory: '512Mi' });
    expect(container.resources.limits).toEqual({ cpu: '1', memory: '1Gi' });
    expect(container.lifecycle.preStop.exec.command).toEqual(['sleep', String(PRESTOP_SLEEP_SECONDS)]);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(PRESTOP_SLEEP_SECONDS + SERVE_DRAIN_SECONDS);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
    expect(byKind('Deployment').spec.replicas).toBeUndefined();
    expect(container.envFrom[0].configMapRef.name).toBe(byKind('ConfigMap').metadata.name);
    expect(byKind('ConfigMap').data).toMatchObject({ HOST: '0.0.0.0', PORT: '8000' });
  });

  it('Service and HPA point at the Deployment; the HPA keeps CPU at 50 % with 1-5 replicas', () => {
    const deployment = byKind('Deployment');
    const podLabels = deployment.spec.template.metadata.labels;
    expect(podLabels).toMatchObject(byKind('Service').spec.selector);
    expect(byKind('Service').spec.ports[0].targetPort).toBe('http');
    const hpa = byKind('HorizontalPodAutoscaler');
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata.name });
    expect([hpa.spec.minReplicas, hpa.spec.maxReplicas]).toEqual([1, 5]);
    expect(hpa.spec.metrics).toEqual([
      { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } },
    ]);
  });
});

describe('GitHub Actions example', () => {
  const file = repoPath('deploy/ci/github-actions.yml');

  it("passes GitHub's workflow parser and schema (@actions/workflow-parser), which rejects a broken copy", () => {
    const [result] = workflowErrors([file]);
    expect(result.errors).toEqual([]);
    expect(result.resources).toEqual(['job/drift-gate']);
    const broken = writeScratch('workflow.yml', readText(file).replace('    runs-on: ubuntu-24.04', '    run-on: ubuntu-24.04'));
    expect(workflowErrors([broken])[0].errors).toEqual(
      expect.arrayContaining([expect.stringContaining("Unexpected value 'run-on'"), expect.stringContaining('Required property is missing: runs-on')]),
    );
  });

  it('installs, trains, serves, waits for /ping, gates on drift and uploads the report', () => {
    const steps = parseYamlFile<WorkflowFile>(file).jobs['drift-gate'].steps;
    const runs = steps.map((s) => s.run ?? '').join('\n');
    expect(runs).toMatch(/^npm ci$/m);
    expect(runs).toContain('mldeploy train --limit');
    expect(runs).toContain('mldeploy serve --model saved_models/latest');
    expect(runs).toContain('/ping');
    expect(runs).toContain("--fail-on 'psi>0.2'");
    const upload = steps.find((s) => String(s.uses).startsWith('actions/upload-artifact@'))!;
    expect(upload.if).toBe('always()');
    expect(upload.with!.path).toContain('drift-out/');
  });
});

describe('Grafana dashboard', () => {
  const dashboard = JSON.parse(readText(repoPath('deploy/compose/grafana/dashboards/mldeploy.json')));

  // JSON cannot name a string enum member (ThresholdsMode.Absolute): its value is accepted, no other string.
  const notEnumMember = (diagnostic: string) => {
    const m = /Type '"([^"]+)"' is not assignable to type '(\w+)'\.$/.exec(diagnostic);
    const members = m && (grafanaSchema as Record<string, unknown>)[m[2]];
    return !(members && typeof members === 'object' && Object.values(members).includes(m[1]));
  };
  const dashboardTypeErrors = (value: unknown) =>
    typeErrorsOfLiterals("import type { Dashboard } from '@grafana/schema';", [{ type: 'Dashboard', value }]).filter(notEnumMember);

  it('type-checks against the Dashboard type of @grafana/schema, which rejects a broken copy', () => {
    expect(dashboardTypeErrors(dashboard)).toEqual([]);
    const broken = structuredClone(dashboard);
    broken.panels[0].gridPos = { x: 0, y: 0, width: 12 };
    (broken.panels as GrafanaPanel[]).find((p) => p.fieldConfig?.defaults?.thresholds)!.fieldConfig!.defaults!.thresholds!.mode = 'absolut';
    const errors = dashboardTypeErrors(broken).join('\n');
    expect(errors).toMatch(/'"width"' does not exist in type 'GridPos'/);
    expect(errors).toMatch(/Type '"absolut"' is not assignable to type 'ThresholdsMode'/);
  });

  it('has a model-health row (drift, drift tests, estimated accuracy, class mix) filtered by a version variable', () => {
    const panels = dashboard.panels as GrafanaPanel[];
    const row = panels.findIndex((p) => p.type === 'row' && /^Model health/.test(p.title));
    expect(row).toBeGreaterThan(0);
    const health = panels.slice(row + 1);
    const exprs = health.flatMap((p) => (p.targets ?? []).map((t) => t.expr)).join('\n');
    for (const metric of ['mldeploy_drift_detected', 'mldeploy_drift_p_value', 'mldeploy_estimated_accuracy', 'mldeploy_monitor_window_samples', 'mldeploy_predictions_total', 'ALERTS']) {
      expect(exprs).toContain(metric);
    }
    expect(health.map((p) => p.title)).toEqual(expect.arrayContaining(['Drift', 'Drift test p-values', 'Estimated accuracy over time', 'Class mix']));
    const [variable] = dashboard.templating.list;
    expect(variable).toMatchObject({ name: 'version', type: 'query', includeAll: true, multi: true });
    expect(variable.query.query).toBe('label_values(mldeploy_model_info, version)');
    // Every monitor gauge query and the model table follow the variable.
    for (const expr of exprs.split('\n').filter((e) => /mldeploy_(drift|estimated|monitor)/.test(e))) expect(expr).toContain('{model_version=~"$version"}');
    expect(panels.find((p) => p.title === 'Model version')!.targets![0].expr).toContain('{version=~"$version"}');
  });

  it('has throughput, p50/p95/p99 latency, error rate, predictions by class and confidence panels', () => {
    const panel = (title: RegExp) => (dashboard.panels as GrafanaPanel[]).find((p) => title.test(p.title))!;
    const exprs = (title: RegExp) => panel(title).targets!.map((t) => t.expr).join('\n');
    expect(exprs(/^Throughput/)).toContain('rate(mldeploy_http_requests_total');
    for (const q of ['0.50', '0.95', '0.99']) {
      expect(exprs(/^Latency/)).toContain(`histogram_quantile(${q}, sum by (le) (rate(mldeploy_http_request_duration_seconds_bucket`);
    }
    expect(exprs(/^Error rate/)).toContain('status=~"5.."');
    expect(exprs(/^Predictions by class/)).toContain('sum by (class) (rate(mldeploy_predictions_total');
    expect(exprs(/^Prediction confidence/)).toContain('mldeploy_prediction_confidence_bucket');
    expect(new Set((dashboard.panels as GrafanaPanel[]).map((p) => p.id)).size).toBe(dashboard.panels.length);
  });
});
