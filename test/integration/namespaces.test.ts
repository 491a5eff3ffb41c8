import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { NamespacePhase, NamespacePhases } from '../../pkg/namespaces/lifecycle.ts';
import { GROUP_VERSION, NAMESPACE, TABLE, TEMPLATES, WORKSPACES, startHarness, type Harness } from './harness.ts';

/** Namespace phases as an informer cache and kube-apiserver would report them, set by each test. */
class Phases implements NamespacePhases {
  readonly synced = true;
  /** What the informer cache has seen (a missing namespace is looked up live). */
  readonly cached = new Map<string, NamespacePhase>();
  /** What kube-apiserver says right now. */
  readonly current = new Map<string, NamespacePhase>();
  liveFailure: Error | undefined;
  liveLookups = 0;

  phase(namespace: string, options: { live?: boolean } = {}): Promise<NamespacePhase> {
    const cached = this.cached.get(namespace);
    if (cached && (cached === 'Terminating' || !options.live)) return Promise.resolve(cached);
    this.liveLookups++;
    if (this.liveFailure) return Promise.reject(this.liveFailure);
    return Promise.resolve(this.current.get(namespace) ?? 'Absent');
  }

  set(namespace: string, phase: NamespacePhase): void {
    this.cached.set(namespace, phase);
    this.current.set(namespace, phase);
  }
}

const phases = new Phases();
let h: Harness;
beforeAll(async () => {
  h = await startHarness({ namespaces: phases });
});
afterAll(async () => {
  await h.close();
});
beforeEach(async () => {
  await h.api.background.idle();
  await h.fake.reset();
  phases.cached.clear();
  phases.current.clear();
  phases.liveFailure = undefined;
  phases.set(NAMESPACE, 'Active');
  phases.set('other', 'Active');
});

const template = (name: string) => ({
  apiVersion: 'aggregation.coder.com/v1alpha1',
  kind: 'CoderTemplate',
  metadata: { name },
  spec: { organization: name.split('.')[0], files: { 'main.tf': 'x' } },
});
const ALL_TEMPLATES = `${GROUP_VERSION}/codertemplates`;

describe('a namespace being deleted', () => {
  beforeEach(() => {
    phases.set(NAMESPACE, 'Terminating');
  });

  it('shows no templates or workspaces, in its own lists and in all-namespaces lists, without asking Coder', async () => {
    for (const path of [TEMPLATES, WORKSPACES, ALL_TEMPLATES]) {
      const res = await h.request('GET', path);
      expect([path, res.status, res.body.items]).toEqual([path, 200, []]);
    }
    const table = await h.request('GET', TEMPLATES, { accept: TABLE });
    expect(table.body).toMatchObject({ kind: 'Table', rows: [] });
    const get = await h.request('GET', `${TEMPLATES}/coder.docker`);
    expect(get.status).toBe(404);
    expect(get.body.message).toContain('namespace "coder" is being deleted');
    expect(h.fake.counters.total).toBe(0);
  });

  it('deletes its views without deleting anything in Coder', async () => {
    for (const path of [`${TEMPLATES}/coder.docker`, `${WORKSPACES}/coder.alice.dev`]) {
      const res = await h.request('DELETE', path, { body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' } });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ kind: 'Status', status: 'Success', details: { name: path.split('/').pop() } });
      expect(res.headers.warning).toContain('nothing was deleted in Coder');
    }
    expect(h.fake.counters.total).toBe(0);
    phases.set(NAMESPACE, 'Active');
    expect((await h.request('GET', `${TEMPLATES}/coder.docker`)).status).toBe(200);
    expect((await h.request('GET', `${WORKSPACES}/coder.alice.dev`)).body.spec.running).toBe(true);
  });

  it('refuses new objects as kube-apiserver does, and has none to update', async () => {
    const create = await h.request('POST', TEMPLATES, { body: template('coder.late') });
    expect(create.status).toBe(403);
    expect(create.body).toMatchObject({
      reason: 'Forbidden',
      message: 'codertemplates.aggregation.coder.com "coder.late" is forbidden: unable to create new content in namespace coder because it is being terminated',
      details: { causes: [{ type: 'NamespaceTerminating', field: 'metadata.namespace' }] },
    });
    const apply = await h.request('PATCH', `${TEMPLATES}/coder.late?fieldManager=e2e`, {
      body: template('coder.late'),
      contentType: 'application/apply-patch+yaml',
    });
    expect(apply.status).toBe(403);
    const patch = await h.request('PATCH', `${TEMPLATES}/coder.docker`, {
      body: { spec: { description: 'x' } },
      contentType: 'application/merge-patch+json',
    });
    expect(patch.status).toBe(404);
    expect(h.fake.counters.total).toBe(0);
  });

  it('protects Coder even when the cache has not seen the deletion yet', async () => {
    phases.cached.set(NAMESPACE, 'Active');
    const res = await h.request('DELETE', `${TEMPLATES}/coder.kubernetes`);
    expect(res.status).toBe(200);
    expect(phases.liveLookups).toBe(1);
    expect(h.fake.counters.get('DELETE /api/v2/templates/{template}')).toBe(0);
  });

  it('refuses to delete when it cannot tell whether the namespace is being deleted', async () => {
    phases.cached.set(NAMESPACE, 'Active');
    phases.liveFailure = new Error('connect ECONNREFUSED 127.0.0.1:6443');
    const res = await h.request('DELETE', `${TEMPLATES}/coder.kubernetes`);
    expect(res.status).toBe(503);
    expect(res.body.message).toContain('cannot tell whether namespace "coder" is being deleted');
    expect(h.fake.counters.get('DELETE /api/v2/templates/{template}')).toBe(0);
  });
});

describe('an active namespace', () => {
  it('confirms the phase with kube-apiserver before deleting in Coder', async () => {
    const created = await h.request('POST', TEMPLATES, { body: template('coder.doomed') });
    expect(created.status).toBe(201);
    const before = phases.liveLookups;
    expect((await h.request('DELETE', `${TEMPLATES}/coder.doomed`)).status).toBe(200);
    expect(phases.liveLookups).toBe(before + 1);
    expect(h.fake.counters.get('DELETE /api/v2/templates/{template}')).toBe(1);
  });
});

describe('a namespace no Coder serves', () => {
  const OTHER = `${GROUP_VERSION}/namespaces/other/codertemplates`;

  it('is empty: LIST answers an empty list and GET and DELETE 404', async () => {
    expect((await h.request('GET', OTHER)).body).toMatchObject({ kind: 'CoderTemplateList', items: [] });
    expect((await h.request('GET', `${OTHER}/coder.docker`)).status).toBe(404);
    expect((await h.request('DELETE', `${OTHER}/coder.docker`)).status).toBe(404);
    expect(h.fake.counters.total).toBe(0);
  });

  it('refuses new objects with 503, saying which namespace is served', async () => {
    const res = await h.request('POST', OTHER, { body: template('coder.x') });
    expect(res.status).toBe(503);
    expect(res.body.message).toContain('this server is pinned to namespace "coder"');
  });
});

describe('a namespace that does not exist', () => {
  const GHOST = `${GROUP_VERSION}/namespaces/ghost/codertemplates`;

  it('is empty and refuses new objects with the namespace NotFound', async () => {
    expect((await h.request('GET', GHOST)).body.items).toEqual([]);
    const res = await h.request('POST', GHOST, { body: template('coder.x') });
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ reason: 'NotFound', message: 'namespaces "ghost" not found', details: { kind: 'namespaces', name: 'ghost' } });
  });

  it('in static mode, also hides the pinned namespace', async () => {
    phases.cached.delete(NAMESPACE);
    phases.current.delete(NAMESPACE);
    expect((await h.request('GET', TEMPLATES)).body.items).toEqual([]);
    expect((await h.request('GET', ALL_TEMPLATES)).body.items).toEqual([]);
    expect(h.fake.counters.total).toBe(0);
  });
});
