#!/usr/bin/env node
// coder-k8s: Kubernetes operator and aggregated API server for Coder.
import { CommanderError } from 'commander';
import { parseOptions } from '../../pkg/app/options.ts';
import { NotYetAvailableError, run } from '../../pkg/app/run.ts';

async function main(): Promise<number> {
  let options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    // Help and version exit 0; every usage error, from commander or our checks, exits 2.
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    process.stderr.write(`coder-k8s: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  try {
    await run(options);
    return 0;
  } catch (err) {
    process.stderr.write(`coder-k8s: ${err instanceof Error ? err.message : String(err)}\n`);
    return err instanceof NotYetAvailableError ? 2 : 1;
  }
}

process.exitCode = await main();
