// The real CLI (src/cli.ts) run from the TypeScript sources in a separate process, for tests that
// need signals or node:cluster: `node -r tsx/cjs test/helpers/mldeploy-from-sources.ts serve ...`.
// Cluster workers re-run this same entry, so they start the same way.
import { main } from '../../src/cli';

void main(process.argv);
