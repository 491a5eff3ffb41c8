import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { waitFor } from './testutil.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const NODE = join(ROOT, 'node_modules/.bin/node');
const MAIN = join(ROOT, 'test/fakes/coderd/main.ts');

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function launch(args: string[]): Running {
  const child = spawn(NODE, [MAIN, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => {
    done(code);
  }));
  return { child, output: () => output, exited };
}

async function exitWithin(run: Running, ms: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`process did not exit within ${ms}ms; output:\n${run.output()}`));
    }, ms);
  });
  try {
    return await Promise.race([run.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('fake coderd: standalone main.ts', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fake-coderd-'));
  const readyFile = join(dir, 'ready.json');
  const tokenFile = join(dir, 'secrets', 'token');
  const started: Running[] = [];

  afterAll(() => {
    for (const run of started) if (run.child.exitCode === null) run.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  async function startMain(): Promise<{ run: Running; url: string; pid: number }> {
    const run = launch(['--port', '0', '--ready-file', readyFile, '--admin-token-file', tokenFile, '--pending-ms', '5', '--running-ms', '5']);
    started.push(run);
    const ready = await waitFor('ready file', () => {
      if (run.child.exitCode !== null) throw new Error(`main.ts exited early:\n${run.output()}`);
      return existsSync(readyFile) ? (JSON.parse(readFileSync(readyFile, 'utf8')) as { url: string; pid: number }) : undefined;
    }, 20_000, 20);
    return { run, ...ready };
  }

  it('writes the ready file and a 0600 token file, serves the API, logs requests, and stops on SIGTERM', async () => {
    const { run, url, pid } = await startMain();
    expect(pid).toBe(run.child.pid);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
    const token = readFileSync(tokenFile, 'utf8').trim();
    const me = await fetch(`${url}/api/v2/users/me`, { headers: { 'Coder-Session-Token': token } });
    expect(me.status).toBe(200);
    await waitFor('request log line', () => (run.output().includes('GET /api/v2/users/me 200') ? true : undefined));
    expect(run.output()).not.toContain(token);

    run.child.kill('SIGTERM');
    expect(await exitWithin(run, 10_000)).toBe(0);
    expect(existsSync(readyFile)).toBe(false);
  });

  it('reuses an existing token file on the next start', async () => {
    const token = readFileSync(tokenFile, 'utf8').trim();
    const { run, url } = await startMain();
    expect(readFileSync(tokenFile, 'utf8').trim()).toBe(token);
    const me = await fetch(`${url}/api/v2/users/me`, { headers: { 'Coder-Session-Token': token } });
    expect(me.status).toBe(200);
    run.child.kill('SIGINT');
    expect(await exitWithin(run, 10_000)).toBe(0);
  });

  it('rejects bad flags with exit code 2', async () => {
    const run = launch(['--pending-ms', 'soon']);
    started.push(run);
    expect(await exitWithin(run, 10_000)).toBe(2);
    expect(run.output()).toContain('--pending-ms must be a non-negative integer');
    const edition = launch(['--edition', 'premium']);
    started.push(edition);
    expect(await exitWithin(edition, 10_000)).toBe(2);
    expect(edition.output()).toContain('--edition must be enterprise or agpl');
  });
});
