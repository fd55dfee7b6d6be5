/**
 * Every `mldeploy` command line in deploy/ (Dockerfile, systemd unit, compose, Kubernetes,
 * the CI example) uses only options that the real CLI's `--help` lists, and the env
 * variables the deploy files set are the ones serve reads.
 */
import { DockerfileParser } from 'dockerfile-ast';
import { commandLine, CommandLine, helpFlags, helpText, shellCommandLines } from './helpers/cli-help';
import { ComposeFile, parseYamlDocuments, parseYamlFile, readText, repoPath, WorkflowFile } from './helpers/deploy-validators';

function deployCommandLines(): CommandLine[] {
  const dockerfile = DockerfileParser.parse(readText(repoPath('Dockerfile'))).getInstructions();
  const execForm = (keyword: string) => JSON.parse(dockerfile.find((i) => i.getKeyword() === keyword)?.getArgumentsContent() ?? 'null') as string[];
  expect(execForm('ENTRYPOINT')).toEqual(['node', '/app/bin/mldeploy']);

  const unit = readText(repoPath('deploy/systemd/mldeploy.service'));
  const execStart = unit.match(/^ExecStart=(.*)$/m)?.[1] ?? '';

  const deployment = parseYamlDocuments(readText(repoPath('deploy/k8s/deployment.yaml')))[0] as { spec: { template: { spec: { containers: { args: string[] }[] } } } };
  const compose = parseYamlFile<ComposeFile>(repoPath('deploy/compose/docker-compose.yml'));
  const workflow = parseYamlFile<WorkflowFile>(repoPath('deploy/ci/github-actions.yml'));
  const runBlocks = Object.values(workflow.jobs).flatMap((job) => job.steps.map((s) => s.run ?? ''));

  return [
    commandLine('Dockerfile CMD', execForm('CMD')),
    ...shellCommandLines('systemd ExecStart', execStart),
    commandLine('k8s Deployment args', deployment.spec.template.spec.containers[0].args),
    commandLine('compose api command', compose.services.api.command),
    ...runBlocks.flatMap((run) => shellCommandLines('CI example', run)),
  ];
}

describe('mldeploy command lines in deploy/', () => {
  const lines = deployCommandLines();

  it('covers the Dockerfile, the unit, Kubernetes, compose and the CI example', () => {
    expect(lines.map((l) => `${l.source}: ${l.subcommand}`)).toEqual([
      'Dockerfile CMD: serve',
      'systemd ExecStart: serve',
      'k8s Deployment args: serve',
      'compose api command: serve',
      'CI example: train',
      'CI example: serve',
      'CI example: drift',
    ]);
  });

  it.each(lines.map((l) => [`${l.source} (${l.subcommand})`, l] as const))('%s uses only options that --help lists', (_label, line) => {
    const known = helpFlags(line.subcommand);
    expect(line.flags.length).toBeGreaterThan(0);
    expect(line.flags.filter((flag) => !known.has(flag))).toEqual([]);
  });

  it('the env variables the deploy files set are the ones serve --help names', () => {
    const help = helpText('serve').replace(/\s+/g, ' '); // help text wraps long lines
    for (const name of ['PORT', 'HOST', 'MLDEPLOY_API_KEY']) expect(help).toContain(`env: ${name}`);
    const configMap = parseYamlDocuments(readText(repoPath('deploy/k8s/configmap.yaml')))[0] as { data: Record<string, string> };
    const compose = parseYamlFile<ComposeFile>(repoPath('deploy/compose/docker-compose.yml'));
    const settable = ['PORT', 'HOST', 'MLDEPLOY_API_KEY', 'NODE_ENV'];
    expect(Object.keys(configMap.data).filter((k) => !settable.includes(k))).toEqual([]);
    expect(Object.keys(compose.services.api.environment).filter((k) => !settable.includes(k))).toEqual([]);
    expect(readText(repoPath('Dockerfile'))).toMatch(/HOST=0\.0\.0\.0 \\\n\s+PORT=8000/);
  });
});
