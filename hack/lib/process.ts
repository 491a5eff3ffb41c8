// Child processes for dev and e2e: started with logs in files, awaited by polling.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion, capturing output; never throws for a non-zero exit. */
export function run(command: string, args: string[], options: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
    });
    // A child that exits without reading its input must not turn into an unhandled EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

export async function mustRun(command: string, args: string[], options: Parameters<typeof run>[2] = {}): Promise<string> {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (${result.code}): ${result.stderr.trim() || result.stdout.trim()}`);
  }
  return result.stdout;
}

/** Starts a long-running process with stdout/stderr appended to a log file. */
export function startLogged(command: string, args: string[], logFile: string, options: { detached?: boolean; env?: NodeJS.ProcessEnv; cwd?: string } = {}): ChildProcess {
  const log = openSync(logFile, 'a');
  const child = spawn(command, args, {
    cwd: options.cwd,
    detached: options.detached ?? false,
    stdio: ['ignore', log, log],
    env: { ...process.env, ...options.env },
  });
  if (options.detached) child.unref();
  return child;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => {
        resolve(port);
      });
    });
  });
}

/**
 * Polls `check` with backoff until it returns true or the deadline passes; when `process` (the
 * one being waited for) exits first, fails at once rather than at the deadline.
 */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 60_000, process?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let delay = 50;
  let last: unknown;
  while (Date.now() < deadline) {
    if (process && (process.exitCode !== null || process.signalCode !== null)) {
      throw new Error(`${what}: the process exited (${String(process.exitCode ?? process.signalCode)}) before it was ready`);
    }
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 500);
  }
  throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM, wait, then SIGKILL. */
export async function terminate(pid: number, graceMs = 20_000): Promise<void> {
  if (!alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  try {
    await waitFor(`pid ${pid} to exit`, () => Promise.resolve(!alive(pid)), graceMs);
  } catch {
    process.kill(pid, 'SIGKILL');
  }
}
