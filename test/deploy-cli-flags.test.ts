/**
 * Every `mldeploy` command line in deploy/ (Dockerfile, systemd unit, compose, Kubernetes,
 * the CI example) uses only options that the real CLI's `--help` lists, and the env
 * variables the deploy files set are the ones serve reads.
 */
import { DockerfileParser } from 'dockerfile-ast';
import { buildProgram } from '../src/cli';
import { ComposeFile, parseYamlDocuments, parseYamlFile, readText, repoPath, WorkflowFile } from './helpers/deploy-validators';

interface CommandLine {
  source: string;
  subcommand: string;
  flags: string[];
}

/** The text `mldeploy <subcommand> --help` prints. */
function helpText(subcommand: string): string {
  const command = buildProgram().commands.find((c) => c.name() === subcommand);
  if (!command) throw new Error(`mldeploy has no "${subcommand}" command`);
  return command.helpInformation();
}

const helpFlags = (subcommand: string): Set<string> => new Set(helpText(subcommand).match(/--[a-z][a-z0-9-]*/g) ?? []);

/** Flags of an argument list that starts with the subcommand (`serve --model x ...`). */
function commandLine(source: string, args: string[]): CommandLine {
  const [subcommand, ...rest] = args;
  return { source, subcommand, flags: rest.filter((a) => a.startsWith('--')).map((a) => a.split('=')[0]) };
}

/** `... mldeploy <subcommand> <args>` inside shell text: continuations joined, quotes dropped. */
function shellCommandLines(source: string, shell: string): CommandLine[] {
  const lines = shell.replace(/\\\n/g, ' ').split('\n');
  return lines.flatMap((line) => {
    const words = line.split(/\s+/).map((w) => w.replace(/^['"]|['"]$/g, ''));
    const at = words.findIndex((w) => /(^|\/)mldeploy$/.test(w));
    if (at < 0 || !words[at + 1] || words[at + 1].startsWith('-')) return [];
    const end = words.findIndex((w, i) => i > at && /^(>|2>|&|\||&&|;)/.test(w));
    return [commandLine(source, words.slice(at + 1, end < 0 ? undefined : end))];
  });
}

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
