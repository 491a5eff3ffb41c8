// Changes made in Coder directly, through its REST API as the Coder CLI or UI would, not
// through Kubernetes: what watches must notice by polling.
import { request } from 'undici';
import type { FakeCoder } from '../fakes/coderd/index.ts';

export async function coderCall<R>(coder: Pick<FakeCoder, 'url' | 'adminToken'>, method: string, path: string, body?: unknown): Promise<R> {
  const res = await request(`${coder.url}${path}`, {
    method: method as 'POST',
    headers: { 'Coder-Session-Token': coder.adminToken, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const json: unknown = await res.body.json();
  if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${JSON.stringify(json)}`);
  return json as R;
}

/** Creates a workspace from organization coder's docker template. */
export async function createWorkspaceInCoder(coder: Pick<FakeCoder, 'url' | 'adminToken'>, owner: string, name: string): Promise<{ id: string }> {
  const org = await coderCall<{ id: string }>(coder, 'GET', '/api/v2/organizations/coder');
  const template = await coderCall<{ id: string }>(coder, 'GET', `/api/v2/organizations/${org.id}/templates/docker`);
  return coderCall<{ id: string }>(coder, 'POST', `/api/v2/users/${owner}/workspaces`, { name, template_id: template.id });
}
