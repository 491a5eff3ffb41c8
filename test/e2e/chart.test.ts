// The Helm chart: lint, rendering of the important value combinations, a server-side dry
// run of each against the real local kube-apiserver, and install → upgrade → uninstall.
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parseAllDocuments, stringify } from 'yaml';
import { ROOT, clusterDown, clusterUp, kubectl, mustKubectl, type ClusterEnv } from '../../hack/lib/cluster.ts';
import { mustRun, run } from '../../hack/lib/process.ts';
import { STACK_TIMEOUT_MS } from './stack.ts';

const CHART = join(ROOT, 'charts', 'coder-k8s');
const NS = 'coder-system';

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: any;
}

let dir = '';
let cluster: ClusterEnv;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'coder-k8s-chart-'));
  cluster = await clusterUp(join(dir, 'cluster'));
  await mustKubectl(cluster, ['create', 'namespace', NS]);
}, STACK_TIMEOUT_MS);
afterAll(async () => {
  await clusterDown(join(dir, 'cluster'), true).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
}, STACK_TIMEOUT_MS);

const helm = (args: string[]) => run(cluster.helm, args, { env: { KUBECONFIG: cluster.kubeconfig } });

async function render(values: string[] = []): Promise<Manifest[]> {
  const out = await mustRun(cluster.helm, ['template', 'coder-k8s', CHART, '-n', NS, ...values.flatMap((v) => ['--set', v])]);
  return parseAllDocuments(out)
    .map((d) => d.toJS() as Manifest | null)
    .filter((m): m is Manifest => m !== null);
}

const find = (manifests: Manifest[], kind: string, name?: string) => manifests.filter((m) => m.kind === kind && (!name || m.metadata.name === name));
const one = (manifests: Manifest[], kind: string, name?: string): Manifest => {
  const found = find(manifests, kind, name);
  expect(found).toHaveLength(1);
  return found[0] as Manifest;
};
const args = (manifests: Manifest[]): string[] => one(manifests, 'Deployment').spec.template.spec.containers[0].args as string[];

/** Kinds whose CRDs are not part of this cluster (cert-manager, Prometheus Operator) are checked by rendering only. */
const FOREIGN = new Set(['Certificate', 'Issuer', 'ServiceMonitor']);

async function serverDryRun(manifests: Manifest[]): Promise<void> {
  const input = manifests.filter((m) => !FOREIGN.has(m.kind)).map((m) => stringify(m)).join('---\n');
  const res = await kubectl(cluster, ['apply', '--dry-run=server', '-f', '-'], { input });
  expect(res.stderr).toBe('');
  expect(res.code).toBe(0);
}

const COMBINATIONS: Record<string, string[]> = {
  defaults: [],
  static: ['app=aggregated-apiserver', 'static.enabled=true', 'static.coderURL=https://coder.example.com', 'static.namespace=coder', 'static.tokenSecret.name=coder-token'],
  'cert-manager': ['certificate.mode=certManager'],
  'existing Secret': ['certificate.mode=secret', 'certificate.existingSecret=my-serving-cert'],
  'ServiceMonitor and NetworkPolicy': ['metrics.serviceMonitor.enabled=true', 'networkPolicy.enabled=true'],
  'controller only': ['app=controller'],
};

describe('the chart', () => {
  it('lints clean with --strict', async () => {
    const res = await helm(['lint', '--strict', CHART]);
    expect(res.stdout).toContain('0 chart(s) failed');
    expect(res.code).toBe(0);
  });

  it.each(Object.entries(COMBINATIONS))('renders %s, and kube-apiserver accepts it (server-side dry run)', async (_name, values) => {
    await serverDryRun(await render(values));
  }, 60_000);

  it('defaults: two non-root replicas with leader election, probes, spread, a PDB and a generated certificate that the APIService trusts', async () => {
    const m = await render();
    const deployment = one(m, 'Deployment');
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0];
    expect(deployment.spec.replicas).toBe(2);
    expect(args(m)).toEqual(expect.arrayContaining(['--app=all', '--leader-elect', '--tls-cert-file=/etc/coder-k8s/serving/tls.crt']));
    expect(container.env).toContainEqual({ name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } });
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(container.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'health' });
    expect(container.livenessProbe.httpGet).toEqual({ path: '/livez', port: 'health' });
    expect(container.resources.requests).toBeDefined();
    expect(pod.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution).toHaveLength(1);
    expect(pod.topologySpreadConstraints[0]).toMatchObject({ topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway' });
    expect(one(m, 'PodDisruptionBudget').spec.maxUnavailable).toBe(1);
    expect(find(m, 'ServiceMonitor')).toEqual([]);
    expect(find(m, 'NetworkPolicy')).toEqual([]);

    const secret = one(m, 'Secret');
    const apiService = one(m, 'APIService');
    expect(apiService.spec.caBundle).toBe(secret.data['ca.crt']);
    expect(apiService.spec.service).toEqual({ name: 'coder-k8s', namespace: NS, port: 443 });
    const cert = new X509Certificate(Buffer.from(secret.data['tls.crt'], 'base64'));
    const ca = new X509Certificate(Buffer.from(secret.data['ca.crt'], 'base64'));
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.subjectAltName).toContain('DNS:coder-k8s.coder-system.svc');
    expect(pod.volumes).toContainEqual({ name: 'serving-cert', secret: { secretName: secret.metadata.name } });
  });

  it('grants the API server delegated authn/authz and the aggregation roles, and leader election only in its namespace', async () => {
    const m = await render();
    expect(one(m, 'ClusterRoleBinding', 'coder-k8s:system:auth-delegator').roleRef.name).toBe('system:auth-delegator');
    const reader = one(m, 'RoleBinding', 'coder-k8s:extension-apiserver-authentication-reader');
    expect(reader.metadata.namespace).toBe('kube-system');
    const view = one(m, 'ClusterRole', 'coder-k8s:aggregate-to-view');
    expect(view.metadata.labels?.['rbac.authorization.k8s.io/aggregate-to-view']).toBe('true');
    const leases = one(m, 'Role', 'coder-k8s-leader-election');
    expect(leases.metadata.namespace).toBe(NS);
    const cluster = one(m, 'ClusterRole', 'coder-k8s');
    expect(JSON.stringify(cluster.rules)).not.toContain('leases');
  });

  it('static mode: no CoderControlPlane or Secret rights, no leader election, the token from its Secret', async () => {
    const m = await render(COMBINATIONS.static);
    expect(args(m)).toEqual(
      expect.arrayContaining(['--app=aggregated-apiserver', '--coder-url=https://coder.example.com', '--coder-namespace=coder', '--coder-session-token-file=/etc/coder-k8s/coder/token']),
    );
    expect(args(m)).not.toContain('--leader-elect');
    const rules = JSON.stringify(one(m, 'ClusterRole', 'coder-k8s').rules);
    expect(rules).not.toContain('codercontrolplanes');
    expect(rules).not.toContain('secrets');
    expect(find(m, 'Role', 'coder-k8s-leader-election')).toEqual([]);
  });

  it('cert-manager: a Certificate for the Service names and a CA injected into the APIService', async () => {
    const m = await render(COMBINATIONS['cert-manager']);
    const certificate = one(m, 'Certificate', 'coder-k8s-serving');
    expect(certificate.spec.dnsNames).toContain('coder-k8s.coder-system.svc');
    expect(certificate.spec.secretName).toBe('coder-k8s-serving-cert');
    const apiService = one(m, 'APIService');
    expect(apiService.metadata.annotations?.['cert-manager.io/inject-ca-from']).toBe('coder-system/coder-k8s-serving');
    expect(apiService.spec.caBundle).toBeUndefined();
    expect(find(m, 'Secret')).toEqual([]);
  });

  it('existing Secret: the pods mount it and the chart creates none', async () => {
    const m = await render(COMBINATIONS['existing Secret']);
    expect(find(m, 'Secret')).toEqual([]);
    expect(one(m, 'Deployment').spec.template.spec.volumes).toContainEqual({ name: 'serving-cert', secret: { secretName: 'my-serving-cert' } });
  });

  it('ServiceMonitor on and off, and the metrics Service it selects', async () => {
    const on = await render(COMBINATIONS['ServiceMonitor and NetworkPolicy']);
    const monitor = one(on, 'ServiceMonitor');
    const service = one(on, 'Service', 'coder-k8s-metrics');
    for (const [k, v] of Object.entries(monitor.spec.selector.matchLabels as Record<string, string>)) expect(service.metadata.labels?.[k]).toBe(v);
    expect(one(on, 'NetworkPolicy').spec.policyTypes).toEqual(['Ingress']);
    expect(find(await render(), 'ServiceMonitor')).toEqual([]);
  });

  it('refuses contradictory values with a message naming them', async () => {
    const staticWithAll = await run(cluster.helm, ['template', 'x', CHART, '--set', 'static.enabled=true']);
    expect(staticWithAll.code).not.toBe(0);
    expect(staticWithAll.stderr).toContain('static.enabled needs app: aggregated-apiserver');
    const typo = await run(cluster.helm, ['template', 'x', CHART, '--set', 'replicas=3']);
    expect(typo.code).not.toBe(0);
    expect(typo.stderr).toContain('replicas');
    const noSecret = await run(cluster.helm, ['template', 'x', CHART, '--set', 'certificate.mode=secret']);
    expect(noSecret.stderr).toContain('certificate.existingSecret is required');
  });

  it('installs, upgrades keeping the certificate and the caBundle, and uninstalls everything but the CRDs', async () => {
    const install = await helm(['install', 'coder-k8s', CHART, '-n', NS, '--wait=false']);
    expect(install.stderr).toBe('');
    expect(install.stdout).toContain('kubectl wait --for=condition=Available apiservice/v1alpha1.aggregation.coder.com');
    await mustKubectl(cluster, ['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
    const caBundle = () => mustKubectl(cluster, ['get', 'apiservice', 'v1alpha1.aggregation.coder.com', '-o', 'jsonpath={.spec.caBundle}']);
    const servingCert = () => mustKubectl(cluster, ['get', 'secret', 'coder-k8s-serving-cert', '-n', NS, '-o', 'jsonpath={.data.tls\\.crt}']);
    const [bundleBefore, certBefore] = [await caBundle(), await servingCert()];
    expect(bundleBefore).not.toBe('');
    const upgrade = await helm(['upgrade', 'coder-k8s', CHART, '-n', NS, '--set', 'logLevel=debug']);
    expect(upgrade.code).toBe(0);
    expect(await caBundle()).toBe(bundleBefore);
    expect(await servingCert()).toBe(certBefore);
    const deployment = JSON.parse(await mustKubectl(cluster, ['get', 'deployment', 'coder-k8s', '-n', NS, '-o', 'json'])) as Manifest;
    expect(deployment.spec.template.spec.containers[0].args).toContain('--log-level=debug');

    expect((await helm(['uninstall', 'coder-k8s', '-n', NS, '--wait'])).code).toBe(0);
    const left = await mustKubectl(cluster, ['get', 'deployments,services,secrets,serviceaccounts,roles,rolebindings', '-n', NS, '-l', 'app.kubernetes.io/instance=coder-k8s', '-o', 'name']);
    expect(left.trim()).toBe('');
    expect((await kubectl(cluster, ['get', 'apiservice', 'v1alpha1.aggregation.coder.com'])).code).not.toBe(0);
    expect((await kubectl(cluster, ['get', 'clusterrole', 'coder-k8s'])).code).not.toBe(0);
    expect((await mustKubectl(cluster, ['get', 'crd', '-o', 'name'])).trim().split('\n').filter((l) => l.includes('coder.com'))).toHaveLength(3);
  }, 120_000);
});
