// The real CLI entry (src/cli.ts) for tests that need a separate process (signals, cluster).
import { main } from '../../src/cli';

void main(process.argv);
