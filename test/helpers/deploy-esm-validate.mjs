// Validators that ship only as ES modules: kubernetes-models (JSON schemas generated from the
// Kubernetes OpenAPI spec) and @actions/workflow-parser (GitHub's own workflow schema and
// parser). jest runs CommonJS, so the deploy tests run this file with plain node.
//
//   node deploy-esm-validate.mjs k8s <manifest.yaml>...
//   node deploy-esm-validate.mjs workflow <workflow.yml>...
//
// Prints one JSON array: [{ file, resources: ["Kind/name"], errors: ["..."] }].
import { readFileSync } from 'node:fs';
import { register } from 'node:module';
import YAML from 'yaml';

// @actions/workflow-parser imports its schema JSON without `with { type: 'json' }` (it targets
// bundlers); this load hook adds the attribute so plain Node can load it.
const addJsonAttribute = `export async function load(url, context, nextLoad) {
  if (url.endsWith('.json')) return nextLoad(url, { ...context, importAttributes: { type: 'json' } });
  return nextLoad(url, context);
}`;
register(`data:text/javascript,${encodeURIComponent(addJsonAttribute)}`);
const { NoOperationTraceWriter, convertWorkflowTemplate, parseWorkflow } = await import('@actions/workflow-parser');

async function validateKubernetes(file) {
  const resources = [];
  const errors = [];
  for (const document of YAML.parseAllDocuments(readFileSync(file, 'utf8'))) {
    if (document.errors.length) {
      errors.push(...document.errors.map((e) => e.message));
      continue;
    }
    const manifest = document.toJS();
    if (manifest == null) continue;
    const { apiVersion, kind } = manifest;
    const label = `${kind}/${manifest.metadata?.name}`;
    resources.push(label);
    let models;
    try {
      models = await import(`kubernetes-models/${apiVersion}`);
    } catch {
      errors.push(`${label}: unknown apiVersion ${apiVersion}`);
      continue;
    }
    const Model = models[kind];
    if (typeof Model !== 'function') {
      errors.push(`${label}: unknown kind ${kind} in ${apiVersion}`);
      continue;
    }
    try {
      new Model(manifest).validate();
    } catch (err) {
      errors.push(`${label}: ${err.message}`);
    }
  }
  return { file, resources, errors };
}

async function validateWorkflow(file) {
  const parsed = parseWorkflow({ name: file, content: readFileSync(file, 'utf8') }, new NoOperationTraceWriter());
  const errors = parsed.context.errors.getErrors().map((e) => e.message);
  const resources = [];
  if (parsed.value && errors.length === 0) {
    const template = await convertWorkflowTemplate(parsed.context, parsed.value);
    errors.push(...(template.errors ?? []).map((e) => e.Message));
    resources.push(...template.jobs.map((job) => `job/${job.id.value}`));
  }
  return { file, resources, errors };
}

const [mode, ...files] = process.argv.slice(2);
const validators = { k8s: validateKubernetes, workflow: validateWorkflow };
if (!validators[mode] || files.length === 0) {
  process.stderr.write('usage: deploy-esm-validate.mjs k8s|workflow <file>...\n');
  process.exit(2);
}
const results = [];
for (const file of files) results.push(await validators[mode](file));
process.stdout.write(JSON.stringify(results) + '\n');
