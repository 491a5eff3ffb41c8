import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { GROUP_VERSION, startHarness, type Harness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

describe('discovery', () => {
  it('lists the group at /apis and /apis/<group>', async () => {
    const apis = await h.request('GET', '/apis');
    expect(apis.status).toBe(200);
    expect(apis.body.kind).toBe('APIGroupList');
    expect(apis.body.groups).toEqual([
      expect.objectContaining({
        name: 'aggregation.coder.com',
        preferredVersion: { groupVersion: 'aggregation.coder.com/v1alpha1', version: 'v1alpha1' },
      }),
    ]);
    const group = await h.request('GET', '/apis/aggregation.coder.com');
    expect(group.body).toMatchObject({ kind: 'APIGroup', name: 'aggregation.coder.com' });
  });

  it('describes both resources with verbs, names and categories', async () => {
    const res = await h.request('GET', GROUP_VERSION);
    expect(res.body.kind).toBe('APIResourceList');
    const byName = Object.fromEntries((res.body.resources as { name: string }[]).map((r) => [r.name, r]));
    for (const [plural, singular, kind, short] of [
      ['codertemplates', 'codertemplate', 'CoderTemplate', 'ctpl'],
      ['coderworkspaces', 'coderworkspace', 'CoderWorkspace', 'cws'],
    ] as const) {
      expect(byName[plural]).toEqual({
        name: plural,
        singularName: singular,
        namespaced: true,
        kind,
        verbs: expect.arrayContaining(['create', 'delete', 'get', 'list', 'patch', 'update']),
        shortNames: [short],
        categories: ['coder'],
      });
    }
  });

  it('answers /api and /version for kubectl', async () => {
    expect((await h.request('GET', '/api')).body).toMatchObject({ kind: 'APIVersions', versions: [] });
    const version = await h.request('GET', '/version');
    expect(version.body).toMatchObject({ major: '0', gitVersion: expect.stringMatching(/^v\d+\.\d+\.\d+/) });
  });

  it('answers unknown paths with a NotFound Status', async () => {
    const res = await h.request('GET', '/apis/nope.example.com/v1');
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'NotFound', code: 404 });
    const unknownResource = await h.request('GET', `${GROUP_VERSION}/namespaces/coder/widgets`);
    expect(unknownResource.status).toBe(404);
  });

  it('answers a method a route does not take with 405', async () => {
    const res = await h.request('DELETE', `${GROUP_VERSION}/namespaces/coder/codertemplates`);
    expect(res.status).toBe(405);
    expect(res.body).toMatchObject({ kind: 'Status', reason: 'MethodNotAllowed' });
  });
});

describe('OpenAPI', () => {
  it('publishes a v3 index pointing at the group-version document', async () => {
    const root = await h.request('GET', '/openapi/v3');
    const entry = root.body.paths['apis/aggregation.coder.com/v1alpha1'] as { serverRelativeURL: string };
    expect(entry.serverRelativeURL).toMatch(/^\/openapi\/v3\/apis\/aggregation\.coder\.com\/v1alpha1\?hash=[0-9A-F]+$/);
    const doc = await h.request('GET', entry.serverRelativeURL);
    expect(doc.status).toBe(200);
    expect(doc.headers['cache-control']).toContain('immutable');
    const schema = doc.body.components.schemas['com.coder.aggregation.v1alpha1.CoderTemplate'];
    expect(schema['x-kubernetes-group-version-kind']).toEqual([{ group: 'aggregation.coder.com', version: 'v1alpha1', kind: 'CoderTemplate' }]);
    expect(schema.properties.spec.required).toEqual(['organization']);
    expect(schema.properties.spec.properties.files).toEqual(
      expect.objectContaining({ type: 'object', additionalProperties: { type: 'string' } }),
    );
    expect(schema.properties.metadata.$ref).toBe('#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta');
  });

  it('advertises fieldValidation so kubectl validates on the server', async () => {
    const root = await h.request('GET', '/openapi/v3');
    const doc = await h.request('GET', root.body.paths['apis/aggregation.coder.com/v1alpha1'].serverRelativeURL as string);
    const patch = doc.body.paths['/apis/aggregation.coder.com/v1alpha1/namespaces/{namespace}/coderworkspaces/{name}'].patch;
    expect(patch.parameters.map((p: { name: string }) => p.name)).toContain('fieldValidation');
    expect(Object.keys(patch.requestBody.content)).toContain('application/apply-patch+yaml');
  });

  it('publishes a v2 document with the same models', async () => {
    const doc = await h.request('GET', '/openapi/v2');
    expect(doc.body.swagger).toBe('2.0');
    expect(Object.keys(doc.body.definitions)).toEqual(
      expect.arrayContaining(['com.coder.aggregation.v1alpha1.CoderWorkspace', 'com.coder.aggregation.v1alpha1.CoderWorkspaceList']),
    );
    const ws = doc.body.definitions['com.coder.aggregation.v1alpha1.CoderWorkspace'];
    expect(ws.properties.spec.properties.ttlMillis).toMatchObject({ type: 'integer', minimum: 0 });
  });
});
