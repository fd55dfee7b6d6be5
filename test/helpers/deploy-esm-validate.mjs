// GitHub's own workflow schema and parser (@actions/workflow-parser) ships only as an ES
// module; jest runs CommonJS, so the deploy tests run this file with plain node.
//
//   node deploy-esm-validate.mjs workflow <workflow.yml>...
//
// Prints one JSON array: [{ file, resources: ["job/<id>"], errors: ["..."] }].
import { readFileSync } from 'node:fs';
import { register } from 'node:module';

// @actions/workflow-parser imports its schema JSON without `with { type: 'json' }` (it targets
// bundlers); this load hook adds the attribute so plain Node can load it.
const addJsonAttribute = `export async function load(url, context, nextLoad) {
  if (url.endsWith('.json')) return nextLoad(url, { ...context, importAttributes: { type: 'json' } });
  return nextLoad(url, context);
}`;
register(`data:text/javascript,${encodeURIComponent(addJsonAttribute)}`);
const { NoOperationTraceWriter, convertWorkflowTemplate, parseWorkflow } = await import('@actions/workflow-parser');

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
const validators = { workflow: validateWorkflow };
if (!validators[mode] || files.length === 0) {
  process.stderr.write('usage: deploy-esm-validate.mjs workflow <file>...\n');
  process.exit(2);
}
const results = [];
for (const file of files) results.push(await validators[mode](file));
process.stdout.write(JSON.stringify(results) + '\n');
