import { existsSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import { parse } from 'yaml';
import { mustRun } from '../../hack/lib/process.ts';
import { eventually } from '../util/eventually.ts';
import { NAMESPACE, clusterClient, useE2E } from './stack.ts';

const e = useE2E();

const TEMPLATE = `apiVersion: aggregation.coder.com/v1alpha1
kind: CoderTemplate
metadata:
  name: coder.e2e
  namespace: ${NAMESPACE}
spec:
  organization: coder
  displayName: E2E
  files:
    main.tf: |
      resource "null_resource" "e2e" {}
`;

const VERSIONS = 'POST /api/v2/organizations/{organization}/templateversions';

describe('the aggregated API through kube-apiserver', () => {
  it('is registered and Available', async () => {
    const out = await e.mustKubectl(['get', 'apiservice', 'v1alpha1.aggregation.coder.com', '-o', 'json']);
    const conditions = (JSON.parse(out) as { status: { conditions: { type: string; status: string }[] } }).status.conditions;
    expect(conditions).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'Available', status: 'True' })]));
  });

  it('lists templates in a namespace with the Table columns', async () => {
    const out = await e.mustKubectl(['get', 'codertemplates', '-n', NAMESPACE]);
    const [header, ...rows] = out.trim().split('\n');
    expect(header?.split(/\s{2,}/)).toEqual(['NAME', 'ORGANIZATION', 'ACTIVE-VERSION', 'BUILD', 'AGE']);
    expect(rows.map((r) => r.split(/\s+/)[0])).toEqual(['acme.python', 'coder.docker', 'coder.kubernetes']);
  });

  it('lists across all namespaces and by short name and category', async () => {
    const all = await e.mustKubectl(['get', 'ctpl', '-A', '--no-headers', '-o', 'custom-columns=NS:.metadata.namespace,NAME:.metadata.name']);
    expect(all.trim().split('\n')).toHaveLength(3);
    const category = await e.mustKubectl(['get', 'coder', '-n', NAMESPACE, '-o', 'name']);
    expect(category).toContain('codertemplate.aggregation.coder.com/coder.docker');
    expect(category).toContain('coderworkspace.aggregation.coder.com/coder.alice.dev');
  });

  it('shows workspaces wide and as YAML', async () => {
    const wide = await e.mustKubectl(['get', 'cws', '-n', NAMESPACE, '-o', 'wide']);
    expect(wide.split('\n')[0]?.split(/\s{2,}/)).toEqual(['NAME', 'OWNER', 'TEMPLATE', 'STATUS', 'RUNNING', 'AGE', 'ORGANIZATION', 'LAST-USED', 'AUTO-SHUTDOWN']);
    const yaml = parse(await e.mustKubectl(['get', 'cws', 'coder.alice.dev', '-n', NAMESPACE, '-o', 'yaml'])) as Record<string, any>;
    expect(yaml.spec).toMatchObject({ organization: 'coder', templateName: 'docker', running: true });
    expect(yaml.status).toMatchObject({ ownerName: 'alice', latestBuildStatus: 'running' });
  });

  it('explains the schema', async () => {
    // kube-aggregator fetches an APIService's OpenAPI v3 document asynchronously after it
    // becomes Available, so explain may need a moment on a fresh registration.
    const out = await eventually('kubectl explain', async () => {
      const res = await e.kubectl(['explain', 'codertemplates.spec.files']);
      return res.code === 0 ? res.stdout : undefined;
    });
    expect(out).toContain('map[string]string');
    expect(out).toContain('relative slash-separated path');
  });

  it('creates with create -f and refuses a second create', async () => {
    const ws = `apiVersion: aggregation.coder.com/v1alpha1
kind: CoderWorkspace
metadata: {name: coder.bob.e2e, namespace: ${NAMESPACE}}
spec: {organization: coder, templateName: docker}
`;
    expect(await e.mustKubectl(['create', '-f', '-'], { input: ws })).toContain('coderworkspace.aggregation.coder.com/coder.bob.e2e created');
    const again = await e.kubectl(['create', '-f', '-'], { input: ws });
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('AlreadyExists');
  });

  it('applies client-side twice: the second apply publishes nothing new', async () => {
    expect(await e.mustKubectl(['apply', '-f', '-'], { input: TEMPLATE })).toContain('coder.e2e created');
    const versions = e.fake.counters.get(VERSIONS);
    const second = await e.mustKubectl(['apply', '-f', '-'], { input: TEMPLATE });
    expect(second).toMatch(/coder\.e2e (configured|unchanged)/);
    expect(e.fake.counters.get(VERSIONS)).toBe(versions);
  });

  it('applies server-side twice: create-if-missing, then a no-op', async () => {
    const manifest = TEMPLATE.replace('coder.e2e', 'coder.ssa');
    expect(await e.mustKubectl(['apply', '--server-side', '-f', '-'], { input: manifest })).toContain('coder.ssa serverside-applied');
    const rv = await e.mustKubectl(['get', 'ctpl', 'coder.ssa', '-n', NAMESPACE, '-o', 'jsonpath={.metadata.resourceVersion}']);
    const versions = e.fake.counters.get(VERSIONS);
    expect(await e.mustKubectl(['apply', '--server-side', '-f', '-'], { input: manifest })).toContain('serverside-applied');
    expect(e.fake.counters.get(VERSIONS)).toBe(versions);
    expect(await e.mustKubectl(['get', 'ctpl', 'coder.ssa', '-n', NAMESPACE, '-o', 'jsonpath={.metadata.resourceVersion}'])).toBe(rv);
  });

  it('changes a template file through apply: a new version is built and promoted', async () => {
    const before = await e.mustKubectl(['get', 'ctpl', 'coder.e2e', '-n', NAMESPACE, '-o', 'jsonpath={.status.activeVersionID}']);
    await e.mustKubectl(['apply', '-f', '-'], { input: TEMPLATE.replace('"e2e"', '"e2e-v2"') });
    const after = parse(await e.mustKubectl(['get', 'ctpl', 'coder.e2e', '-n', NAMESPACE, '-o', 'yaml'])) as Record<string, any>;
    expect(after.status.activeVersionID).not.toBe(before);
    expect(after.spec.files['main.tf']).toContain('e2e-v2');
  });

  it('patches with --type=merge', async () => {
    await e.mustKubectl(['patch', 'ctpl', 'coder.e2e', '-n', NAMESPACE, '--type=merge', '-p', '{"spec":{"description":"patched"}}']);
    expect(await e.mustKubectl(['get', 'ctpl', 'coder.e2e', '-n', NAMESPACE, '-o', 'jsonpath={.spec.description}'])).toBe('patched');
  });

  it('reports bad input as a Status naming the field', async () => {
    const bad = await e.kubectl(['apply', '-f', '-'], { input: TEMPLATE.replace('organization: coder', 'organization: acme') });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('spec.organization');
    const badName = await e.kubectl(['get', 'ctpl', 'nodots', '-n', NAMESPACE]);
    expect(badName.stderr).toContain('<organization>.<template>');
  });

  it('deletes and waits until the object is gone', async () => {
    expect(await e.mustKubectl(['delete', 'cws', 'coder.bob.e2e', '-n', NAMESPACE, '--timeout=60s'])).toContain('deleted');
    const gone = await e.kubectl(['get', 'cws', 'coder.bob.e2e', '-n', NAMESPACE]);
    expect(gone.stderr).toContain('NotFound');
    expect(await e.mustKubectl(['delete', 'ctpl', 'coder.ssa', '-n', NAMESPACE])).toContain('deleted');
  });

  it('works with a client-node client', async () => {
    const { api } = await clusterClient(e.cluster.kubeconfig);
    const list = (await api.listNamespacedCustomObject({
      group: 'aggregation.coder.com',
      version: 'v1alpha1',
      namespace: NAMESPACE,
      plural: 'coderworkspaces',
      labelSelector: 'aggregation.coder.com/owner=alice',
    })) as { items: { metadata: { name: string } }[] };
    expect(list.items.map((i) => i.metadata.name)).toContain('coder.alice.dev');
  });

  it('still answers get and list from the preinstalled (older) kubectl', async () => {
    const pinned = e.cluster.kubectl;
    const candidates = ['/usr/local/bin/kubectl', '/usr/bin/kubectl'].filter((p) => existsSync(p) && p !== pinned);
    if (candidates.length === 0) {
      console.warn('no preinstalled kubectl on this machine; skipping the version-skew smoke test');
      return;
    }
    // Asynchronously: the fake Coder answering these requests runs in this process.
    const env = { KUBECONFIG: e.cluster.kubeconfig };
    const out = await mustRun(candidates[0] ?? '', ['get', 'codertemplates', '-n', NAMESPACE], { env });
    expect(out).toContain('coder.docker');
    const one = await mustRun(candidates[0] ?? '', ['get', 'cws', 'coder.alice.dev', '-n', NAMESPACE, '-o', 'name'], { env });
    expect(one.trim()).toBe('coderworkspace.aggregation.coder.com/coder.alice.dev');
  });
});
