// `mldeploy serve` in a separate process for tests that need signals or node:cluster. Only the
// serve command is registered, so these tests do not depend on the other commands' modules;
// failures are reported like src/cli.ts does (one "error:" line, exit code from the error).
import { Command } from 'commander';
import { registerServe } from '../../src/commands/serve';
import { MldeployError } from '../../src/errors';

const program = new Command('mldeploy').exitOverride();
registerServe(program);
program.parseAsync(process.argv).catch((err: Error) => {
  process.stderr.write(`error: ${err.message}\n`);
  process.exitCode = err instanceof MldeployError ? err.exitCode : 2;
});
