// `node hack/real-coder.ts start|stop`: a real Coder (hack/lib/real-coder.ts) for developers,
// detached, described by .dev/real-coder.json ({url, token, dataDir, pids, logFile}).
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT } from './lib/cluster.ts';
import { alive } from './lib/process.ts';
import { startRealCoder, stopRealCoder, type RealCoderState } from './lib/real-coder.ts';

const STATE = join(ROOT, '.dev', 'real-coder.json');

async function readState(): Promise<RealCoderState | undefined> {
  return existsSync(STATE) ? (JSON.parse(await readFile(STATE, 'utf8')) as RealCoderState) : undefined;
}

async function start(): Promise<void> {
  const old = await readState();
  if (old && alive(old.coderPid)) {
    console.log(`a real Coder is already running at ${old.url} (${STATE}); stop it first`);
    return;
  }
  if (old) await stopRealCoder(old); // half-dead leftovers
  const started = Date.now();
  const coder = await startRealCoder({ detached: true });
  const { stop: _stop, ...state } = coder;
  await mkdir(join(ROOT, '.dev'), { recursive: true });
  await writeFile(STATE, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  console.log(`real Coder ${coder.url} is up (${((Date.now() - started) / 1000).toFixed(1)}s); owner token and pids in .dev/real-coder.json
  log: ${coder.logFile}
  export CODER_URL=${coder.url} CODER_SESSION_TOKEN=$(jq -r .token .dev/real-coder.json)
Stop with: node hack/real-coder.ts stop`);
}

async function stop(): Promise<void> {
  const state = await readState();
  if (!state) {
    console.log('no real Coder recorded in .dev/real-coder.json');
    return;
  }
  await stopRealCoder(state);
  await rm(STATE, { force: true });
  console.log(`stopped the real Coder at ${state.url} and removed ${state.dataDir}`);
}

const command = process.argv[2];
if (command === 'start') await start();
else if (command === 'stop') await stop();
else {
  console.error('usage: node hack/real-coder.ts start|stop');
  process.exitCode = 2;
}
