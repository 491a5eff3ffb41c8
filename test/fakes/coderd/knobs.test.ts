import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { CoderResponse, Workspace, WorkspacesResponse } from '../../../pkg/coder/types.ts';
import { startFakeCoder } from './index.ts';
import type { FakeCoder } from './index.ts';
import { Api } from './testutil.ts';

describe('fake coderd: knobs and counters', () => {
  let fake: FakeCoder;
  let api: Api;

  beforeAll(async () => {
    fake = await startFakeCoder();
    api = new Api(fake);
  });
  beforeEach(async () => {
    await fake.reset();
  });
  afterAll(async () => {
    await fake.close();
  });

  it('counts requests per route template and keeps a token-free request log', async () => {
    await api.get('/workspaces');
    await api.get('/workspaces?limit=1');
    const dev = (await api.get('/users/alice/workspace/dev')).body as Workspace;
    await api.get(`/workspaces/${dev.id}?coder_session_token=${fake.adminToken}`);
    expect(fake.counters.get('GET /api/v2/workspaces')).toBe(2);
    expect(fake.counters.get('GET /api/v2/users/{user}/workspace/{workspacename}')).toBe(1);
    expect(fake.counters.get('GET /api/v2/workspaces/{workspace}')).toBe(1);
    const last = fake.counters.recent.at(-1);
    expect(last).toMatchObject({ method: 'GET', path: `/api/v2/workspaces/${dev.id}`, route: '/api/v2/workspaces/{workspace}', status: 200 });
    expect(JSON.stringify(fake.counters.recent)).not.toContain(fake.adminToken.split('-')[1]);
    expect(fake.counters.total).toBe(4);
  });

  it('adds global and per-route latency, visible in the request log', async () => {
    fake.knobs.latencyMs = 20;
    fake.knobs.routeLatencyMs.set('GET /api/v2/workspaces', 30);
    await api.get('/workspaces');
    await api.get('/buildinfo');
    const [workspaces, buildinfo] = fake.counters.recent.slice(-2);
    expect(workspaces?.injectedLatencyMs).toBe(50);
    expect(buildinfo?.injectedLatencyMs).toBe(20);
  });

  it('injects failures matched by method and path, a given number of times', async () => {
    fake.knobs.failNext({ method: 'GET', path: '/api/v2/workspaces', status: 503, times: 2 });
    expect((await api.get('/workspaces')).status).toBe(503);
    expect((await api.get('/buildinfo')).status).toBe(200);
    expect((await api.get('/workspaces')).status).toBe(503);
    expect((await api.get('/workspaces')).status).toBe(200);

    fake.knobs.failNext({ path: /\/templates\//, status: 500, body: { message: 'database is down', detail: 'pq: connection refused' } });
    const failed = await api.get('/organizations/coder/templates/docker');
    expect(failed.status).toBe(500);
    expect(failed.body).toEqual({ message: 'database is down', detail: 'pq: connection refused' });

    fake.knobs.failNext({ path: '/api/v2/workspaces/{workspace}', status: 502, body: '<html>Bad Gateway</html>' });
    const dev = (await api.get('/users/alice/workspace/dev')).body as Workspace;
    const proxy = await api.get(`/workspaces/${dev.id}`);
    expect(proxy.status).toBe(502);
    expect(proxy.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    expect(proxy.text).toBe('<html>Bad Gateway</html>');
  });

  it('rate limits with 429, Retry-After and X-RateLimit-* headers', async () => {
    fake.knobs.rateLimitNext(2, 7);
    for (let i = 0; i < 2; i++) {
      const res = await api.get('/workspaces');
      expect(res.status).toBe(429);
      expect((res.body as CoderResponse).message).toBe("You've been rate limited for sending more than 512 requests in 1m0s.");
      expect(res.headers.get('retry-after')).toBe('7');
      expect(res.headers.get('x-ratelimit-limit')).toBe('512');
      expect(res.headers.get('x-ratelimit-remaining')).toBe('0');
      expect(Number(res.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000);
    }
    expect((await api.get('/workspaces')).status).toBe(200);
    expect(fake.counters.get('GET /api/v2/workspaces')).toBe(3);
  });

  it('holds jobs while paused', async () => {
    const docker = (await api.get('/organizations/coder/templates/docker')).body as { id: string };
    fake.knobs.pauseJobs();
    expect(fake.knobs.jobsPaused).toBe(true);
    const ws = (await api.post('/users/me/workspaces', { name: 'held', template_id: docker.id })).body as Workspace;
    // A later request is still answered while the job stays pending.
    expect(((await api.get('/workspaces?q=name:held')).body as WorkspacesResponse).workspaces[0]?.latest_build.status).toBe('pending');
    expect(((await api.get(`/workspaces/${ws.id}`)).body as Workspace).latest_build.job.status).toBe('pending');
    fake.knobs.reset();
    expect(fake.knobs.jobsPaused).toBe(false);
  });

  it('reset() restores the seed and keeps the admin token', async () => {
    const token = fake.adminToken;
    await api.post('/users', { email: 'z@coder.com', username: 'zed', password: 'SomeSecurePassword!' });
    await fake.reset();
    expect((await api.get('/users/zed')).status).toBe(400);
    expect((await api.get('/users/me')).status).toBe(200);
    expect(fake.adminToken).toBe(token);
    expect(fake.counters.total).toBe(2);
  });
});
