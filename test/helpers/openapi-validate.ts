// Real answers checked against the OpenAPI document's component schemas (src/serve/openapi-schemas.ts),
// with every documented object closed: a field the server sends but the document leaves out is an error too.
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { SCHEMAS } from '../../src/serve/openapi-schemas';

function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (schema === null || typeof schema !== 'object') return schema;
  const copy = Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, closed(value)]));
  return 'properties' in copy ? { additionalProperties: false, ...copy } : copy;
}

const ajv = new Ajv({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema({ components: { schemas: closed(SCHEMAS) } }, 'openapi');

/** What in `body` does not match components.schemas[name] (empty when it matches). */
export function schemaErrors(name: keyof typeof SCHEMAS, body: unknown): string[] {
  const validate = ajv.getSchema(`openapi#/components/schemas/${name}`)!;
  return validate(body) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`);
}
