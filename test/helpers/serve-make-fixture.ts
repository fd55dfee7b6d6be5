// `node -r scripts/ts-register.js test/helpers/serve-make-fixture.ts <models-dir> [seed]`
// prints the created version dir (used by bench/serve.js and by hand).
import { createModelFixture } from './model-fixture';

createModelFixture(process.argv[2], { seed: Number(process.argv[3] ?? 42) }).then(
  (dir) => process.stdout.write(dir + '\n'),
  (err: Error) => {
    process.stderr.write(`error: ${err.message}\n`);
    process.exit(1);
  },
);
