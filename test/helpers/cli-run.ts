/** The CLI run in-process through main(), with its output and exit code captured. */
import { main } from '../../src/cli';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(...args: string[]): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += chunk.toString();
    return true;
  });
  const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += chunk.toString();
    return true;
  });
  const log = jest.spyOn(console, 'log').mockImplementation((...parts: unknown[]) => {
    stdout += parts.join(' ') + '\n';
  });
  try {
    process.exitCode = 0;
    await main(['node', 'mldeploy', ...args]);
    return { code: Number(process.exitCode ?? 0), stdout, stderr };
  } finally {
    process.exitCode = 0;
    out.mockRestore();
    err.mockRestore();
    log.mockRestore();
  }
}
