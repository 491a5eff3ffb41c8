// A real coderd (AGPL v2.30.0, built by `hack/tools.sh ensure coder terraform`) on loopback,
// with its own PostgreSQL cluster and data directory, for tests and developers.
// Offline: terraform comes from PATH (the pinned build), nothing is downloaded at run time.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ROOT } from './cluster.ts';
import { freePort, mustRun, startLogged, terminate, waitFor } from './process.ts';

export interface RealCoderOptions {
  /** A new (or empty) directory for everything (PostgreSQL cluster, HOME, logs); a temp dir by default. Removed by stop(). */
  dataDir?: string;
  /** Detached processes outlive the caller (the CLI); tests keep them attached. */
  detached?: boolean;
  /** CODER_PROVISIONER_DAEMONS (default 3): concurrent builds before jobs queue. */
  provisionerDaemons?: number;
  /** Extra environment for coder server (e.g. CODER_* flags); wins over the defaults. */
  env?: Record<string, string>;
  /** Readiness deadline for PostgreSQL and for Coder, each (default 60 s). */
  timeoutMs?: number;
  /** Create the first user and an owner token (default true); false leaves a fresh Coder for the caller to bootstrap. */
  firstUser?: boolean;
}

/** What a detached real Coder needs to be found and stopped again (written by the CLI). */
export interface RealCoderState {
  url: string;
  /** An owner's API token (Coder-Session-Token header); empty when started with firstUser: false. */
  token: string;
  dataDir: string;
  coderPid: number;
  postgresPid: number;
  /** coder server's log; postgres.log is beside it. */
  logFile: string;
}

export interface RealCoder extends RealCoderState {
  /** Stops coder, then PostgreSQL, and removes the data directory. */
  stop: () => Promise<void>;
}

const OWNER = { email: 'admin@coder-k8s.test', username: 'admin', name: 'Admin' };

async function toolPath(tool: string): Promise<string> {
  return (await mustRun(join(ROOT, 'hack', 'tools.sh'), ['path', tool])).trim();
}

/** The newest Debian PostgreSQL (/usr/lib/postgresql/<major>/bin). */
async function postgresBinDir(): Promise<string> {
  const base = '/usr/lib/postgresql';
  const majors = existsSync(base) ? (await readdir(base)).filter((d) => existsSync(join(base, d, 'bin', 'initdb'))) : [];
  const newest = majors.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest) throw new Error(`no PostgreSQL under ${base} (apt-get install -y postgresql)`);
  return join(base, newest, 'bin');
}

/**
 * startLogged merges its env into process.env; blanking every inherited variable
 * (Node leaves undefined ones out) gives the child exactly `vars`. Coder hands its
 * environment to terraform, so a machine-wide TF_CLI_CONFIG_FILE would reach every build.
 */
function cleanEnv(vars: Record<string, string>): NodeJS.ProcessEnv {
  return { ...Object.fromEntries(Object.keys(process.env).map((k) => [k, undefined])), ...vars };
}

/**
 * PostgreSQL refuses to run as root. As root, the cluster belongs to the `postgres` user
 * (Debian's package creates it; else `nobody`) and initdb/postgres run under setpriv, which
 * execs (no intermediate process), so the pid we hold is the postmaster's.
 */
async function postgresUser(): Promise<{ wrap: (cmd: string, args: string[]) => [string, string[]]; uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ['postgres', 'nobody']) {
    let u: number, g: number;
    try {
      u = Number(await mustRun('id', ['-u', name]));
      g = Number(await mustRun('id', ['-g', name]));
    } catch {
      continue; // no such user
    }
    return { uid: u, gid: g, wrap: (cmd, args) => ['setpriv', [`--reuid=${u}`, `--regid=${g}`, '--clear-groups', '--', cmd, ...args]] };
  }
  throw new Error('running as root and there is neither a postgres nor a nobody user to run PostgreSQL as');
}

async function api<T>(url: string, path: string, body: unknown, token?: string): Promise<T> {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { 'coder-session-token': token } : {}) },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`POST ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

async function logTail(file: string, lines = 30): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').slice(-lines).join('\n');
}

/** Stops what startRealCoder started (also from another process, given its state) and removes its data dir. */
export async function stopRealCoder(s: Pick<RealCoderState, 'coderPid' | 'postgresPid' | 'dataDir'>): Promise<void> {
  if (s.coderPid) await terminate(s.coderPid);
  // SIGTERM is PostgreSQL's smart shutdown: quick once coder's connections are gone.
  if (s.postgresPid) await terminate(s.postgresPid);
  await rm(s.dataDir, { recursive: true, force: true });
}

/** The developers' detached real Coder (`node hack/real-coder.ts`, `make dev REAL_CODER=1`). */
export const RECORDED_REAL_CODER = join(ROOT, '.dev', 'real-coder.json');

export async function readRecordedRealCoder(): Promise<RealCoderState | undefined> {
  return existsSync(RECORDED_REAL_CODER) ? (JSON.parse(await readFile(RECORDED_REAL_CODER, 'utf8')) as RealCoderState) : undefined;
}

/** Records a detached real Coder (with its owner token: mode 0600). */
export async function recordRealCoder(coder: RealCoder): Promise<RealCoderState> {
  const { stop: _stop, ...state } = coder;
  await mkdir(dirname(RECORDED_REAL_CODER), { recursive: true });
  await writeFile(RECORDED_REAL_CODER, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  return state;
}

/** Stops the recorded real Coder and forgets it; what it was, if any. */
export async function stopRecordedRealCoder(): Promise<RealCoderState | undefined> {
  const state = await readRecordedRealCoder();
  if (!state) return undefined;
  await stopRealCoder(state);
  await rm(RECORDED_REAL_CODER, { force: true });
  return state;
}

/**
 * Starts PostgreSQL and `coder server` (AGPL v2.30.0) on free 127.0.0.1 ports, creates the
 * first user and returns an owner API token. Needs `hack/tools.sh ensure coder terraform`
 * (run on demand here: ~9 minutes on 2 cores with an empty Go build cache). On failure, whatever started
 * is stopped and the data dir removed; the error carries the log tail.
 */
export async function startRealCoder(o: RealCoderOptions = {}): Promise<RealCoder> {
  const timeoutMs = o.timeoutMs ?? 60_000;
  const [coderBin, terraformBin, pgBin] = await Promise.all([toolPath('coder'), toolPath('terraform'), postgresBinDir()]);
  const dataDir = o.dataDir ?? (await mkdtemp(join(tmpdir(), 'coder-k8s-real-coder-')));
  await mkdir(dataDir, { recursive: true });
  const pgData = join(dataDir, 'postgres');
  const home = join(dataDir, 'home');
  const logFile = join(dataDir, 'coder.log');
  const pgLog = join(dataDir, 'postgres.log');
  const state = { dataDir, coderPid: 0, postgresPid: 0 };
  try {
    // PostgreSQL: own cluster, TCP on loopback only, no Unix socket, durability off (throwaway data).
    const pgUser = await postgresUser();
    const wrap = pgUser?.wrap ?? ((cmd: string, args: string[]): [string, string[]] => [cmd, args]);
    await mkdir(pgData, { mode: 0o700 });
    if (pgUser) {
      await chmod(dataDir, 0o711); // let the postgres user reach its directory
      await chown(pgData, pgUser.uid, pgUser.gid);
    }
    const pgEnv = cleanEnv({ PATH: '/usr/bin:/bin', LANG: 'C', HOME: pgData });
    await mustRun(...wrap(join(pgBin, 'initdb'), ['-D', pgData, '-U', 'coder', '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-sync']), {
      env: pgEnv,
      cwd: pgData,
    });
    const pgPort = await freePort();
    const pg = startLogged(
      ...wrap(join(pgBin, 'postgres'), [
        '-D', pgData, '-p', String(pgPort), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=',
        '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200',
      ]),
      pgLog,
      { detached: o.detached ?? false, env: pgEnv, cwd: pgData },
    );
    state.postgresPid = pg.pid ?? 0;
    await waitFor(
      'PostgreSQL',
      () =>
        mustRun(join(pgBin, 'pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(pgPort), '-U', 'coder', '-d', 'postgres']).then(
          () => true,
          () => false,
        ),
      timeoutMs,
      pg,
    ).catch(async (err: unknown) => {
      throw new Error(`${err instanceof Error ? err.message : String(err)}\npostgres log tail:\n${await logTail(pgLog)}`, { cause: err });
    });

    // coder server: clean environment, the pinned terraform first on PATH, HOME in the data dir.
    await mkdir(home, { recursive: true });
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const coder = startLogged(coderBin, ['server'], logFile, {
      detached: o.detached ?? false,
      cwd: dataDir,
      env: cleanEnv({
        PATH: `${dirname(terraformBin)}:/usr/local/bin:/usr/bin:/bin`,
        HOME: home,
        LANG: 'C.UTF-8',
        CODER_PG_CONNECTION_URL: `postgres://coder@127.0.0.1:${pgPort}/postgres?sslmode=disable`,
        CODER_HTTP_ADDRESS: `127.0.0.1:${port}`,
        CODER_ACCESS_URL: url,
        CODER_CACHE_DIRECTORY: join(dataDir, 'cache'),
        CODER_TELEMETRY_ENABLE: 'false',
        CODER_UPDATE_CHECK: 'false',
        CODER_DERP_SERVER_STUN_ADDRESSES: 'disable',
        CODER_BLOCK_DIRECT: 'true',
        CODER_OAUTH2_GITHUB_DEFAULT_PROVIDER_ENABLE: 'false',
        CODER_PROVISIONER_DAEMONS: String(o.provisionerDaemons ?? 3),
        CODER_DANGEROUS_DISABLE_RATE_LIMITS: 'true',
        CHECKPOINT_DISABLE: '1',
        ...o.env,
      }),
    });
    state.coderPid = coder.pid ?? 0;
    await waitFor('coder /api/v2/buildinfo', async () => (await fetch(`${url}/api/v2/buildinfo`)).ok, timeoutMs, coder);

    if (o.firstUser === false) {
      const fresh: RealCoderState = { url, token: '', logFile, ...state };
      return { ...fresh, stop: () => stopRealCoder(fresh) };
    }
    // The first user is the owner; its API token outlives the login session.
    const password = `${randomBytes(12).toString('base64url')}-Aa1!`;
    await api(url, '/api/v2/users/first', { ...OWNER, password, trial: false });
    const { session_token } = await api<{ session_token: string }>(url, '/api/v2/users/login', { email: OWNER.email, password });
    const { key: token } = await api<{ key: string }>(url, '/api/v2/users/me/keys/tokens', { token_name: 'coder-k8s' }, session_token);
    const result: RealCoderState = { url, token, logFile, ...state };
    return { ...result, stop: () => stopRealCoder(result) };
  } catch (err) {
    const tail = await logTail(logFile);
    await stopRealCoder(state).catch(() => undefined);
    throw new Error(`starting a real Coder failed: ${err instanceof Error ? err.message : String(err)}${tail ? `\ncoder log tail:\n${tail}` : ''}`, { cause: err });
  }
}
