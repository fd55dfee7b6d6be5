import { Command } from 'commander';

export function registerDrift(program: Command): void {
  program.command('drift').description('(being built)');
}
