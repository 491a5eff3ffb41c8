// `node hack/real-coder.ts start|stop`: a real Coder (hack/lib/real-coder.ts) for developers,
// detached, described by .dev/real-coder.json ({url, token, dataDir, pids, logFile}).
import { ROOT } from './lib/cluster.ts';
import { alive } from './lib/process.ts';
import { RECORDED_REAL_CODER, readRecordedRealCoder, recordRealCoder, startRealCoder, stopRecordedRealCoder } from './lib/real-coder.ts';

const STATE = RECORDED_REAL_CODER.slice(ROOT.length + 1);

async function start(): Promise<void> {
  const old = await readRecordedRealCoder();
  if (old && alive(old.coderPid)) {
    console.log(`a real Coder is already running at ${old.url} (${STATE}); stop it first`);
    return;
  }
  await stopRecordedRealCoder(); // half-dead leftovers
  const started = Date.now();
  const coder = await recordRealCoder(await startRealCoder({ detached: true }));
  console.log(`real Coder ${coder.url} is up (${((Date.now() - started) / 1000).toFixed(1)}s); owner token and pids in ${STATE}
  log: ${coder.logFile}
  export CODER_URL=${coder.url} CODER_SESSION_TOKEN=$(jq -r .token ${STATE})
Stop with: node hack/real-coder.ts stop`);
}

async function stop(): Promise<void> {
  const state = await stopRecordedRealCoder();
  console.log(state ? `stopped the real Coder at ${state.url} and removed ${state.dataDir}` : `no real Coder recorded in ${STATE}`);
}

const command = process.argv[2];
if (command === 'start') await start();
else if (command === 'stop') await stop();
else {
  console.error('usage: node hack/real-coder.ts start|stop');
  process.exitCode = 2;
}
