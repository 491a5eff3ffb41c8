#!/usr/bin/env node
// coder-k8s: Kubernetes operator and aggregated API server for Coder.
import { CommanderError } from 'commander';
import { parseOptions } from '../../pkg/app/options.ts';
import { run } from '../../pkg/app/run.ts';

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
    return 1;
  }
}

// Exit explicitly: a watch or timer left behind by a failed start must not keep a broken
// process alive (and passing liveness) instead of restarting. (No top-level await: the
// single executable runs this file bundled as CommonJS.)
void main().then((code) => process.exit(code));
