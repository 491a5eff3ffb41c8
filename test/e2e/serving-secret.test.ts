// --serving-cert-secret, for installs without the Helm chart: one certificate in a Secret
// for every replica and every restart, renewed before expiry, and the APIService caBundle
// kept in sync by the product itself.
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { APISERVICE, PRODUCT_NAMESPACE, PRODUCT_SERVICE, apiServiceAvailable, clusterDown, clusterUp, mustKubectl, type ClusterEnv } from '../../hack/lib/cluster.ts';
import { freePort, terminate } from '../../hack/lib/process.ts';
import { startProduct, type ProductProcess } from '../../hack/lib/stack.ts';
import { issueCertificate, loadCertificateAuthority } from '../../pkg/certs/certs.ts';
import { startFakeCoder, type FakeCoder } from '../fakes/coderd/index.ts';
import { eventually } from '../util/eventually.ts';
import { NAMESPACE, STACK_TIMEOUT_MS } from './stack.ts';

const SECRET = 'coder-k8s-serving-cert';
let dir = '';
let cluster: ClusterEnv;
let fake: FakeCoder;
let port = 0;
const replicas: ProductProcess[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'coder-k8s-serving-secret-'));
  cluster = await clusterUp(join(dir, 'cluster'));
  fake = await startFakeCoder();
  await writeFile(join(dir, 'token'), fake.adminToken, { mode: 0o600 });
  await mustKubectl(cluster, ['create', 'namespace', NAMESPACE]);
  port = await freePort();
  // Registered with no caBundle at all: the product fills it in.
  const manifests = [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: PRODUCT_NAMESPACE } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: PRODUCT_SERVICE, namespace: PRODUCT_NAMESPACE }, spec: { type: 'ExternalName', externalName: 'localhost', ports: [{ name: 'https', port }] } },
    {
      apiVersion: 'apiregistration.k8s.io/v1',
      kind: 'APIService',
      metadata: { name: APISERVICE },
      spec: { group: 'aggregation.coder.com', version: 'v1alpha1', groupPriorityMinimum: 1000, versionPriority: 15, service: { name: PRODUCT_SERVICE, namespace: PRODUCT_NAMESPACE, port } },
    },
  ];
  await mustKubectl(cluster, ['apply', '-f', '-'], { input: manifests.map((m) => stringify(m)).join('---\n') });
}, STACK_TIMEOUT_MS);

afterAll(async () => {
  for (const r of replicas) await terminate(r.pid);
  await fake.close();
  await clusterDown(join(dir, 'cluster'), true).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
}, STACK_TIMEOUT_MS);

async function replica(name: string, securePort?: number): Promise<ProductProcess> {
  const p = await startProduct({
    stateDir: join(dir, name),
    cluster,
    mode: { kind: 'static', coderUrl: fake.url, coderTokenFile: join(dir, 'token'), namespace: NAMESPACE },
    extraFlags: [`--serving-cert-secret=${SECRET}`],
    ...(securePort ? { securePort } : {}),
  });
  replicas.push(p);
  return p;
}

function servedCertificate(securePort: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: securePort, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerX509Certificate()?.fingerprint256 ?? '');
      socket.end();
    });
    socket.once('error', reject);
  });
}

const secretField = async (key: string) =>
  Buffer.from(await mustKubectl(cluster, ['get', 'secret', SECRET, '-n', PRODUCT_NAMESPACE, '-o', `jsonpath={.data.${key.replace('.', '\\.')}}`]), 'base64').toString('utf8');
const caBundle = async () => Buffer.from(await mustKubectl(cluster, ['get', 'apiservice', APISERVICE, '-o', 'jsonpath={.spec.caBundle}']), 'base64').toString('utf8');
const availableSoon = () => eventually('the APIService to be Available', async () => ((await apiServiceAvailable(cluster)) ? true : undefined), 90_000);

describe('--serving-cert-secret', () => {
  it('creates the Secret, fills in the caBundle, and every replica and restart serves the same certificate', async () => {
    const a = await replica('a', port);
    await availableSoon();
    expect(await caBundle()).toBe(await secretField('ca.crt'));
    expect(await mustKubectl(cluster, ['get', 'codertemplates', '-n', NAMESPACE, '-o', 'name'])).toContain('coder.docker');
    const first = await servedCertificate(a.securePort);

    const b = await replica('b');
    expect(await servedCertificate(b.securePort)).toBe(first);

    await terminate(a.pid);
    const again = await replica('a-again', port);
    expect(await servedCertificate(again.securePort)).toBe(first);
    await availableSoon();
    expect(await mustKubectl(cluster, ['get', 'coderworkspaces', '-n', NAMESPACE, '-o', 'name'])).toContain('coder.alice.dev');
  }, 240_000);

  it('renews a certificate close to expiry from the same CA, and repairs a caBundle someone changed', async () => {
    const ca = await loadCertificateAuthority(await secretField('ca.crt'), await secretField('ca.key'));
    const expiring = await issueCertificate(ca, { commonName: 'localhost', hosts: ['localhost', '127.0.0.1'], usages: ['server'], days: 2 });
    await mustKubectl(cluster, [
      'patch', 'secret', SECRET, '-n', PRODUCT_NAMESPACE, '--type=merge', '-p',
      JSON.stringify({ data: { 'tls.crt': Buffer.from(expiring.cert).toString('base64'), 'tls.key': Buffer.from(expiring.key).toString('base64') } }),
    ]);
    const other = Buffer.from(expiring.cert).toString('base64');
    await mustKubectl(cluster, ['patch', 'apiservice', APISERVICE, '--type=merge', '-p', JSON.stringify({ spec: { caBundle: other } })]);
    for (const r of replicas.splice(0)) await terminate(r.pid);
    await replica('renewing', port);
    await availableSoon();
    const renewed = new X509Certificate(await secretField('tls.crt'));
    expect(Date.parse(renewed.validTo) - Date.now()).toBeGreaterThan(300 * 24 * 3600_000);
    expect(renewed.checkIssued(new X509Certificate(await secretField('ca.crt')))).toBe(true);
    expect(await caBundle()).toBe(await secretField('ca.crt'));
  }, 240_000);
});
