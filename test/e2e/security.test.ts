import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { Agent, request } from 'undici';
import { eventually } from '../util/eventually.ts';
import { NAMESPACE, useE2E } from './stack.ts';

let agent: Agent;
const e = useE2E({
  setup: async (stack) => {
    agent = new Agent({ connect: { ca: await readFile(join(stack.product.certDir, 'ca.crt')), servername: 'localhost' } });
    await stack.mustKubectl(['create', 'rolebinding', 'viewer-view', '--clusterrole=view', '--user=viewer', '-n', NAMESPACE]);
    await stack.mustKubectl(['create', 'serviceaccount', 'reader', '-n', NAMESPACE]);
    await stack.mustKubectl(['create', 'serviceaccount', 'stranger', '-n', NAMESPACE]);
    await stack.mustKubectl(['create', 'rolebinding', 'reader-view', '--clusterrole=view', `--serviceaccount=${NAMESPACE}:reader`, '-n', NAMESPACE]);
  },
  teardown: () => agent.close(),
});

const TEMPLATES = `/apis/aggregation.coder.com/v1alpha1/namespaces/${NAMESPACE}/codertemplates`;

async function direct(path: string, headers: Record<string, string> = {}) {
  const res = await request(`https://127.0.0.1:${e.product.securePort}${path}`, { dispatcher: agent, headers });
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, any> };
}

async function token(serviceAccount: string): Promise<string> {
  return (await e.mustKubectl(['create', 'token', serviceAccount, '-n', NAMESPACE])).trim();
}

describe('through kube-apiserver', () => {
  it('lets a user bound only to view list but not create', async () => {
    const list = await e.kubectl(['get', 'codertemplates', '-n', NAMESPACE, '--as=viewer']);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('coder.docker');
    const create = await e.kubectl(['create', '-f', '-', '--as=viewer'], {
      input: JSON.stringify({
        apiVersion: 'aggregation.coder.com/v1alpha1',
        kind: 'CoderTemplate',
        metadata: { name: 'coder.nope', namespace: NAMESPACE },
        spec: { organization: 'coder', files: { 'main.tf': 'x' } },
      }),
    });
    expect(create.code).not.toBe(0);
    expect(create.stderr).toContain('Forbidden');
    expect(create.stderr).toContain('User "viewer" cannot create resource "codertemplates"');
  });

  it('forbids a user with no binding', async () => {
    const res = await e.kubectl(['get', 'coderworkspaces', '-n', NAMESPACE, '--as=nobody']);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('User "nobody" cannot list resource "coderworkspaces"');
  });

  it('passes the user and groups through the front proxy to coder-k8s', async () => {
    // Rights held only through a group: coder-k8s's own SubjectAccessReview allows the request
    // only if the group reached it (kube-apiserver authorizes first, so a 403 would come from us).
    await e.mustKubectl(['create', 'rolebinding', 'group-viewers', '-n', NAMESPACE, '--clusterrole=view', '--group=coder-viewers']);
    await eventually('the binding to take effect', async () => ((await e.kubectl(['auth', 'can-i', 'list', 'codertemplates.aggregation.coder.com', '-n', NAMESPACE, '--as=carol', '--as-group=coder-viewers'])).stdout.trim() === 'yes' ? true : undefined));
    const res = await e.kubectl(['get', 'ctpl', '-n', NAMESPACE, '--as=carol', '--as-group=coder-viewers', '--as-group=other']);
    expect(res.stderr).toBe('');
    expect(res.stdout).toContain('coder.docker');
    const log = await readFile(e.product.logFile, 'utf8');
    expect(log).toMatch(/path="\/apis\/aggregation\.coder\.com\/v1alpha1\/namespaces\/coder\/codertemplates".*status=200.*user="carol"/);
    const without = await e.kubectl(['get', 'ctpl', '-n', NAMESPACE, '--as=carol']);
    expect(without.stderr).toContain('User "carol" cannot list resource "codertemplates"');
  });
});

describe('directly at the coder-k8s port', () => {
  it('refuses requests without credentials with 401', async () => {
    const res = await direct(TEMPLATES);
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ kind: 'Status', reason: 'Unauthorized' });
  });

  it('keeps health endpoints open', async () => {
    const res = await request(`https://127.0.0.1:${e.product.securePort}/readyz`, { dispatcher: agent });
    expect(res.statusCode).toBe(200);
    await res.body.text();
  });

  it('ignores identity headers from a client that is not the front proxy', async () => {
    const res = await direct(TEMPLATES, { 'X-Remote-User': 'admin', 'X-Remote-Group': 'system:masters' });
    expect(res.status).toBe(401);
  });

  it('authenticates bearer tokens with TokenReview and authorizes with SubjectAccessReview', async () => {
    const allowed = await direct(TEMPLATES, { Authorization: `Bearer ${await token('reader')}` });
    expect(allowed.status).toBe(200);
    expect(allowed.body.items.length).toBe(3);
    const denied = await direct(TEMPLATES, { Authorization: `Bearer ${await token('stranger')}` });
    expect(denied.status).toBe(403);
    // coder-k8s itself decided (its request log), not kube-apiserver.
    expect(await readFile(e.product.logFile, 'utf8')).toMatch(/status=403.*user="system:serviceaccount:coder:stranger"/);
    expect(denied.body.message).toBe(
      `User "system:serviceaccount:${NAMESPACE}:stranger" cannot list resource "codertemplates" in API group "aggregation.coder.com" in the namespace "${NAMESPACE}"`,
    );
    const bogus = await direct(TEMPLATES, { Authorization: 'Bearer not-a-real-token' });
    expect(bogus.status).toBe(401);
  });

  it('reloads the authentication ConfigMap when it changes', async () => {
    const before = (await readFile(e.product.logFile, 'utf8')).split('loaded authentication configuration').length;
    const cm = JSON.parse(await e.mustKubectl(['get', 'configmap', 'extension-apiserver-authentication', '-n', 'kube-system', '-o', 'json'])) as {
      data: Record<string, string>;
    };
    const names = JSON.parse(cm.data['requestheader-allowed-names'] ?? '[]') as string[];
    await e.mustKubectl([
      'patch', 'configmap', 'extension-apiserver-authentication', '-n', 'kube-system', '--type=merge',
      '-p', JSON.stringify({ data: { 'requestheader-allowed-names': JSON.stringify([...names, 'e2e-extra-proxy']) } }),
    ]);
    await eventually('the reload to be logged', async () => {
      const log = await readFile(e.product.logFile, 'utf8');
      return log.split('loaded authentication configuration').length > before && log.includes('e2e-extra-proxy') ? true : undefined;
    });
  });
});
