/**
 * A faithful, stateful fake of Coder's REST API (coderd v2.30) for
 * integration tests, e2e tests and `make dev`.
 *
 * @example
 * const coder = await startFakeCoder();
 * const res = await fetch(`${coder.url}/api/v2/workspaces`, { headers: { 'Coder-Session-Token': coder.adminToken } });
 * await coder.close();
 *
 * @module
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counters } from './counters.ts';
import { DEFAULT_TIMINGS, JobRunner } from './jobs.ts';
import type { BuildTimings } from './jobs.ts';
import { Knobs } from './knobs.ts';
import { deploymentRoutes } from './routes/deployment.ts';
import { fileRoutes } from './routes/files.ts';
import { templateRoutes } from './routes/templates.ts';
import { templateVersionRoutes } from './routes/templateversions.ts';
import { userRoutes } from './routes/users.ts';
import { workspaceRoutes } from './routes/workspaces.ts';
import { applySeed, defaultSeed } from './seed.ts';
import type { Seed } from './seed.ts';
import { createApp } from './server.ts';
import type { AppContext } from './server.ts';
import { State } from './state.ts';

export { defaultSeed, emptySeed, parseSeed } from './seed.ts';
export type { Seed, SeedOrg, SeedTemplate, SeedUser, SeedWorkspace } from './seed.ts';
export type { BuildTimings } from './jobs.ts';
export type { FailRule, JobFailRule, Knobs, RequestMatcher } from './knobs.ts';
export type { Counters, RequestRecord } from './counters.ts';
export type { State, Table, TemplateRecord, VersionRecord, JobRecord, WorkspaceRecord, BuildRecord, UserRecord, ApiKeyRecord, FileRecord } from './state.ts';
export { FAIL_BUILD_MARKER, FAIL_IMPORT_MARKER, SLOW_BUILD_MARKER, packTar, readTar } from './tar.ts';

/** Version reported in `X-Coder-Build-Version` and `GET /buildinfo`. */
export const FAKE_CODER_VERSION = 'v2.30.0+fake';

export interface FakeCoderOptions {
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  /** Listen address (default 127.0.0.1). */
  host?: string;
  /** Initial data (default `defaultSeed()`); also restored by `reset()`. */
  seed?: Seed;
  /** Time each provisioner job spends pending and running (default 50/150 ms). */
  buildTimings?: Partial<BuildTimings>;
  /** Fixed admin token (`<10 alphanumerics>-<22 alphanumerics>`); random by default. */
  adminToken?: string;
  /** Receives one line per request: method, path, status, duration. Never includes tokens. */
  log?: (line: string) => void;
  /**
   * Which Coder build to answer as (default `enterprise`: licenses and entitlements are served).
   * `agpl` answers as the open-source build does: no licensing routes (404 "Route not found."),
   * port sharing not restrictable (templates report `public`).
   */
  edition?: 'agpl' | 'enterprise';
  /** Concurrent provisioner jobs (coderd's CODER_PROVISIONER_DAEMONS); extra jobs wait pending with a queue_position. Default: unlimited. */
  provisionerDaemons?: number;
}

export interface FakeCoder {
  /** Base URL, e.g. `http://127.0.0.1:41234` (API under `/api/v2`). */
  readonly url: string;
  /** Session token of the seed's owner user ('' when the seed has none). */
  readonly adminToken: string;
  /** Live in-memory state; tests may read or tweak it directly. */
  readonly state: State;
  readonly knobs: Knobs;
  readonly counters: Counters;
  /** Restores the seed (same admin token), clears knobs and counters. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

/** Starts a fake coderd listening on 127.0.0.1 (or `opts.host`). */
export async function startFakeCoder(opts: FakeCoderOptions = {}): Promise<FakeCoder> {
  const seed = opts.seed ?? defaultSeed();
  const state = new State();
  state.edition = opts.edition ?? 'enterprise';
  state.provisionerDaemons = opts.provisionerDaemons ?? Infinity;
  if (!(state.provisionerDaemons >= 1)) throw new Error('fake coderd: provisionerDaemons must be at least 1');
  const jobs = new JobRunner(state, { ...DEFAULT_TIMINGS, ...opts.buildTimings }, state.provisionerDaemons);
  const knobs = new Knobs(jobs);
  const counters = new Counters();
  const adminToken = await applySeed(state, seed, opts.adminToken);

  const context: AppContext = { state, jobs, knobs, counters, buildVersion: FAKE_CODER_VERSION, url: '' };
  const deployment = state.edition === 'agpl' ? deploymentRoutes.filter((r) => !r.enterprise) : deploymentRoutes;
  const routes = [...deployment, ...userRoutes, ...fileRoutes, ...templateRoutes, ...templateVersionRoutes, ...workspaceRoutes];
  const app = createApp(context, routes, { log: opts.log });
  const handle = app.callback();
  const server = createServer((req, res) => {
    void handle(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  context.url = `http://${host}:${address.port}`;

  return {
    url: context.url,
    adminToken,
    state,
    knobs,
    counters,
    async reset() {
      jobs.clearTimers();
      state.clear();
      knobs.reset();
      counters.reset();
      await applySeed(state, seed, adminToken === '' ? undefined : adminToken);
    },
    async close() {
      jobs.close();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => {
        server.close((err) => {
          if (err) reject(err);
          else resolve();
        });
      });
    },
  };
}
