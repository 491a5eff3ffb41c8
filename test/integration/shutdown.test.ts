// SIGTERM as Kubernetes sends it: the process turns unready at once, keeps serving for
// --shutdown-delay-duration (endpoints and kube-apiserver stop sending meanwhile), then ends
// watches cleanly, drains and exits 0.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Agent, request } from 'undici';
import { ROOT } from '../../hack/lib/cluster.ts';
import { freePort } from '../../hack/lib/process.ts';
import { createCertificateAuthority, issueCertificate } from '../../pkg/certs/certs.ts';
import { startFakeCoder, type FakeCoder } from '../fakes/coderd/index.ts';
import { eventually } from '../util/eventually.ts';
import { WORKSPACES } from './harness.ts';
import { openWatch } from './watch-client.ts';

let dir = '';
let fake: FakeCoder;
let child: ChildProcess;
let agent: Agent;
let base = '';
let health = '';
const exited = { code: undefined as number | null | undefined };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'coder-k8s-shutdown-'));
  fake = await startFakeCoder();
  const ca = await createCertificateAuthority('shutdown-client-ca');
  const admin = await issueCertificate(ca, { commonName: 'admin', organizations: ['system:masters'], usages: ['client'] });
  await writeFile(join(dir, 'client-ca.crt'), ca.cert);
  await writeFile(join(dir, 'token'), fake.adminToken);
  const [port, healthPort] = [await freePort(), await freePort()];
  base = `https://127.0.0.1:${port}`;
  health = `http://127.0.0.1:${healthPort}`;
  child = spawn(
    process.execPath,
    [
      join(ROOT, 'cmd', 'coder-k8s', 'main.ts'),
      '--app=aggregated-apiserver',
      `--coder-url=${fake.url}`,
      `--coder-session-token-file=${join(dir, 'token')}`,
      '--coder-namespace=coder',
      '--bind-address=127.0.0.1',
      `--secure-port=${port}`,
      `--cert-dir=${join(dir, 'serving')}`,
      `--client-ca-file=${join(dir, 'client-ca.crt')}`,
      `--health-probe-bind-address=127.0.0.1:${healthPort}`,
      '--metrics-bind-address=0',
      '--shutdown-delay-duration=3s',
      '--log-format=text',
    ],
    { stdio: 'ignore' },
  );
  child.once('exit', (code) => (exited.code = code));
  await eventually('the server to be ready', async () => ((await fetch(`${health}/readyz`)).ok ? true : undefined), 30_000);
  agent = new Agent({ connect: { ca: await readFile(join(dir, 'serving', 'ca.crt'), 'utf8'), cert: admin.cert, key: admin.key, servername: 'localhost' } });
});

afterAll(async () => {
  if (exited.code === undefined) child.kill('SIGKILL');
  await agent.destroy();
  await fake.close();
  await rm(dir, { recursive: true, force: true });
});

describe('SIGTERM', () => {
  it('turns unready at once, serves through the delay, ends watches cleanly and exits 0', async () => {
    const watch = await openWatch(`${base}${WORKSPACES}?watch=true`, agent);
    await watch.next('the initial state', () => watch.events.length >= 3);
    child.kill('SIGTERM');
    await eventually('readiness to drop', async () => ((await fetch(`${health}/readyz`)).status === 503 ? true : undefined), 2000);
    // Unready, yet still answering: clients that have not noticed yet lose nothing.
    const during = await request(`${base}${WORKSPACES}`, { dispatcher: agent });
    expect(during.statusCode).toBe(200);
    await during.body.dump();
    expect(watch.ended).toBe(false);
    await watch.end(15_000);
    expect(watch.error).toBeUndefined();
    await eventually('the process to exit', () => Promise.resolve(exited.code === undefined ? undefined : true), 30_000);
    expect(exited.code).toBe(0);
  }, 60_000);
});
