// Standalone fake coderd for `make dev` and e2e tests:
//   node test/fakes/coderd/main.ts --port 3000 --admin-token-file .dev/coder-token --ready-file .dev/coder.json
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { newToken } from './random.ts';
import { defaultSeed, emptySeed, parseSeed, startFakeCoder } from './index.ts';
import type { Seed } from './index.ts';

const USAGE = `Usage: main.ts [options]

A fake Coder API server (coderd v2.30 REST API, in memory).

Options:
  --port <n>                TCP port (default 0: pick a free port)
  --host <addr>             listen address (default 127.0.0.1)
  --seed <default|empty|file.json>
                            initial data (default: default)
  --admin-token-file <path> read the admin token from <path>, or generate one
                            and write it there (mode 0600)
  --ready-file <path>       write {"url","pid"} JSON here once listening
                            (removed again on exit)
  --pending-ms <n>          time a provisioner job stays pending (default 50)
  --running-ms <n>          time a provisioner job stays running (default 150)
  --edition <enterprise|agpl>
                            answer as the enterprise build (licenses and
                            entitlements; default) or as the AGPL one
  --provisioner-daemons <n> concurrent provisioner jobs; more wait pending in a
                            queue (default: unlimited)
  -h, --help                show this help
`;

function die(message: string): never {
  process.stderr.write(`fake coderd: ${message}\n`);
  process.exit(2);
}

function nonNegativeInt(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw)) die(`--${name} must be a non-negative integer, got "${raw}"`);
  return Number(raw);
}

async function loadSeed(spec: string): Promise<Seed> {
  if (spec === 'default') return defaultSeed();
  if (spec === 'empty') return emptySeed();
  let text: string;
  try {
    text = await readFile(spec, 'utf8');
  } catch (err) {
    die(`cannot read seed file ${spec}: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    return parseSeed(JSON.parse(text));
  } catch (err) {
    die(`invalid seed file ${spec}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Writes via a temp file so pollers never read half a file. */
async function writeAtomically(path: string, content: string, mode: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, content, { mode });
  await rename(tmp, path);
}

async function main(): Promise<void> {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        seed: { type: 'string' },
        'admin-token-file': { type: 'string' },
        'ready-file': { type: 'string' },
        'pending-ms': { type: 'string' },
        'running-ms': { type: 'string' },
        edition: { type: 'string' },
        'provisioner-daemons': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    die(`${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const port = nonNegativeInt('port', values.port) ?? 0;
  if (port > 65535) die('--port must be at most 65535');
  const pendingMs = nonNegativeInt('pending-ms', values['pending-ms']);
  const runningMs = nonNegativeInt('running-ms', values['running-ms']);
  const edition = values.edition ?? 'enterprise';
  if (edition !== 'enterprise' && edition !== 'agpl') die(`--edition must be enterprise or agpl, got "${edition}"`);
  const daemons = nonNegativeInt('provisioner-daemons', values['provisioner-daemons']);
  if (daemons === 0) die('--provisioner-daemons must be at least 1');
  const seed = await loadSeed(values.seed ?? 'default');

  const tokenFile = values['admin-token-file'];
  let adminToken: string | undefined;
  let generated = false;
  if (tokenFile !== undefined && existsSync(tokenFile)) {
    adminToken = (await readFile(tokenFile, 'utf8')).trim();
  } else if (tokenFile !== undefined) {
    adminToken = newToken().token;
    generated = true;
  }

  let fake;
  try {
    fake = await startFakeCoder({
      port,
      host: values.host ?? '127.0.0.1',
      seed,
      adminToken,
      buildTimings: { ...(pendingMs !== undefined ? { pendingMs } : {}), ...(runningMs !== undefined ? { runningMs } : {}) },
      edition,
      ...(daemons !== undefined ? { provisionerDaemons: daemons } : {}),
      log: (line) => {
        process.stdout.write(`${line}\n`);
      },
    });
  } catch (err) {
    die(err instanceof Error ? err.message : String(err));
  }
  if (tokenFile !== undefined && generated && fake.adminToken !== '') {
    await writeAtomically(tokenFile, `${fake.adminToken}\n`, 0o600);
  }
  const readyFile = values['ready-file'];
  if (readyFile !== undefined) {
    await writeAtomically(readyFile, `${JSON.stringify({ url: fake.url, pid: process.pid })}\n`, 0o644);
  }
  process.stdout.write(`fake coderd listening on ${fake.url}\n`);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`fake coderd: ${signal}, shutting down\n`);
    void (async () => {
      await fake.close();
      if (readyFile !== undefined) await rm(readyFile, { force: true });
      process.exit(0);
    })();
  };
  process.on('SIGTERM', () => {
    stop('SIGTERM');
  });
  process.on('SIGINT', () => {
    stop('SIGINT');
  });
}

await main();
