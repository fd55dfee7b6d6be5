import { Command, CommanderError, Option } from 'commander';
import { MldeployError } from './errors';
import { registerTrain } from './commands/train';
import { registerServe } from './commands/serve';
import { registerDrift } from './commands/drift';
import { registerExport } from './commands/export';
import { registerMonitor } from './commands/monitor';
import { registerModels } from './commands/models';
import { registerRetrain } from './commands/retrain';
import { stderrColours } from './commands/output';

// package.json lies outside the compiled tree (rootDir src), so it is read when the CLI starts.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { version } = require('../package.json') as { version: string };

export function buildProgram(): Command {
  const program = new Command('mldeploy')
    .description('Train, serve and drift-test a CIFAR-10 image classifier (TensorFlow.js)')
    .version(version, '-V, --version')
    .addOption(new Option('--verbose', 'print stack traces and debug detail on failure'))
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(stderrColours.error(text.trimEnd()) + '\n') });
  registerTrain(program);
  registerServe(program);
  registerDrift(program);
  registerExport(program);
  registerMonitor(program);
  registerModels(program);
  registerRetrain(program);
  return program;
}

let pipeHandled = false;

/** `mldeploy ... | head`: a reader that stops early is not a failure, so stop quietly (exit 0). */
function exitQuietlyWhenReaderCloses(): void {
  if (pipeHandled) return;
  pipeHandled = true;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(0);
  });
}

/** Runs the CLI; maps usage errors to exit 2 and other failures to exit 1 with one line. */
export async function main(argv: string[]): Promise<void> {
  exitQuietlyWhenReaderCloses();
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    process.exitCode = exitCodeFor(err, program.opts().verbose === true || argv.includes('--verbose'));
  }
}

function exitCodeFor(err: unknown, verbose: boolean): number {
  if (err instanceof CommanderError) {
    // Help and version are not failures; commander already printed its message.
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') {
      return 0;
    }
    return 2;
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`${stderrColours.error('error:')} ${message}\n`);
  if (verbose && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
  return err instanceof MldeployError ? err.exitCode : 1;
}
