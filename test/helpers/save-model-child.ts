// A `train` run's final save in its own process, for tests racing two of them into one models
// dir: `node -r tsx/cjs test/helpers/save-model-child.ts <models-dir> <seed>`. Prints "ready"
// once everything but the save is done, saves when a line arrives on stdin, then prints the version.
import { buildModel } from '../../src/model/architectures';
import { readMetadata, resolveModelDir, saveModelVersion } from '../../src/model/artifacts';
import { initEngine } from '../../src/model/engine';

async function run(): Promise<void> {
  const [modelsDir, seed] = process.argv.slice(2);
  await initEngine('auto');
  const { schema_version, version, created_at, ...draft } = await readMetadata(resolveModelDir(modelsDir));
  const model = buildModel('simple_cnn', draft.num_classes, Number(seed));
  process.stdout.write('ready\n');
  await new Promise((resolve) => process.stdin.once('data', resolve));
  const saved = await saveModelVersion(model, draft, modelsDir);
  process.stdout.write(`${JSON.stringify(saved)}\n`);
  process.exit(0);
}

run().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
