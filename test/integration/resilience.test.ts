import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { TEMPLATES, WORKSPACES, capturedLogger, eventually, startHarness, type Harness } from './harness.ts';

const { logger, lines } = capturedLogger('debug');

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ logger });
});
afterAll(async () => {
  await h.close();
});
beforeEach(async () => {
  await h.fake.reset();
});

describe('when Coder misbehaves', () => {
  it('retries a short 429 transparently', async () => {
    h.fake.knobs.rateLimitNext(1, 1, { path: '/api/v2/templates' });
    const res = await h.request('GET', TEMPLATES);
    expect(res.status).toBe(200);
    expect(h.fake.counters.get('GET /api/v2/templates')).toBe(2);
    const retries = await h.metrics.registry.getSingleMetricAsString('coder_k8s_coder_request_retries_total');
    expect(retries).toContain('reason="rate_limited"');
  });

  it('passes a long 429 on as TooManyRequests with Retry-After', async () => {
    h.fake.knobs.rateLimitNext(1, 120, { path: '/api/v2/templates' });
    const res = await h.request('GET', TEMPLATES);
    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toBe('120');
    expect(res.body).toMatchObject({ reason: 'TooManyRequests', details: { retryAfterSeconds: 120 } });
  });

  it('maps Coder 5xx to InternalError naming namespace and URL', async () => {
    h.fake.knobs.failNext({ path: '/api/v2/workspaces', status: 500 });
    const res = await h.request('GET', WORKSPACES);
    expect(res.status).toBe(500);
    expect(res.body.reason).toBe('InternalError');
    expect(res.body.message).toContain('namespace coder');
    expect(res.body.message).toContain(h.fake.url);
  });

  it('maps a proxy error page (non-JSON 502) to ServiceUnavailable', async () => {
    h.fake.knobs.failNext({ path: '/api/v2/workspaces', status: 502, body: '<html>Bad Gateway</html>' });
    const res = await h.request('GET', WORKSPACES);
    expect(res.status).toBe(503);
    expect(res.body.message).toContain('Bad Gateway');
  });

  it('reports Coder rejecting the operator token as 401 with a useful message', async () => {
    h.fake.knobs.failNext({ path: '/api/v2/templates', status: 401 });
    const res = await h.request('GET', TEMPLATES);
    expect(res.status).toBe(401);
    expect(res.body.message).toContain('rejected the operator credentials');
  });

  it('answers 503 naming the Coder URL when Coder is unreachable', async () => {
    const down = await startHarness();
    await down.fake.close();
    try {
      const res = await down.request('GET', TEMPLATES);
      expect(res.status).toBe(503);
      expect(res.body.reason).toBe('ServiceUnavailable');
      expect(res.body.message).toContain(down.fake.url);
    } finally {
      await down.api.stop();
    }
  });

  it('records Coder and API server request metrics', async () => {
    await h.request('GET', TEMPLATES);
    const coder = await h.metrics.registry.getSingleMetricAsString('coder_k8s_coder_requests_total');
    expect(coder).toMatch(/endpoint="GET \/api\/v2\/templates",code="200"} \d+/);
    const api = await h.metrics.registry.getSingleMetricAsString('coder_k8s_apiserver_requests_total');
    expect(api).toMatch(/verb="list",resource="codertemplates",code="200"} \d+/);
    const duration = await h.metrics.registry.getSingleMetricAsString('coder_k8s_apiserver_request_duration_seconds');
    expect(duration).toContain('coder_k8s_apiserver_request_duration_seconds_bucket{le="0.005",verb="list",resource="codertemplates",code="200"}');
  });

  it('labels unknown paths as one series, whoever sends them', async () => {
    for (const path of ['/apis/x/y/junk-1', '/apis/x/y/junk-2']) await h.request('GET', path, {}, 'none');
    const api = await h.metrics.registry.getSingleMetricAsString('coder_k8s_apiserver_requests_total');
    expect(api).not.toContain('junk');
    expect(api).toContain('resource="unknown"');
  });

  it('never writes the session token to logs or responses', async () => {
    h.fake.knobs.failNext({ path: '/api/v2/templates', status: 500 });
    const res = await h.request('GET', TEMPLATES);
    await h.request('GET', `${TEMPLATES}/coder.docker`);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.join('\n')).not.toContain(h.fake.adminToken);
    expect(res.text).not.toContain(h.fake.adminToken);
  });
});

describe('reads nobody waits for any more', () => {
  const canceled = async () => {
    const text = await h.metrics.registry.getSingleMetricAsString('coder_k8s_coder_requests_total');
    return [...text.matchAll(/code="canceled"} (\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
  };

  it('aborts the Coder request when the client hangs up, and counts it as canceled', async () => {
    h.fake.knobs.latencyMs = 5_000;
    const before = await canceled();
    const hangUp = new AbortController();
    const pending = h.request('GET', WORKSPACES, { signal: hangUp.signal }).catch((e: unknown) => e);
    await eventually('the LIST to be in flight', () => Promise.resolve(h.api.server.inflight > 0 || undefined));
    hangUp.abort();
    await pending;
    await eventually('the Coder request to be canceled', async () => ((await canceled()) > before ? true : undefined));
    // Not a server failure: counted as an abort, logged at debug only.
    await eventually('the abort to be counted', async () =>
      (await h.metrics.registry.getSingleMetricAsString('coder_k8s_apiserver_request_aborts_total')).includes('verb="list",resource="coderworkspaces"} 1') ? true : undefined,
    );
    expect(lines.some((l) => l.includes('"clientGone":true') && l.includes('"level":"debug"') && l.includes('coderworkspaces'))).toBe(true);
    expect(lines.some((l) => /"status":504/.test(l) && l.includes('"level":"warn"') && l.includes('coderworkspaces'))).toBe(false);
  });

  it("answers 504 at the request's ?timeout= and aborts the Coder request", async () => {
    h.fake.knobs.latencyMs = 5_000;
    const before = await canceled();
    const res = await h.request('GET', `${TEMPLATES}/coder.docker?timeout=300ms`);
    expect(res.status).toBe(504);
    expect(res.body).toMatchObject({ kind: 'Status', reason: 'Timeout' });
    expect((res.body as { message: string }).message).toMatch(/the request ended before Coder at .* answered/);
    expect(await canceled()).toBeGreaterThan(before);
  });

  it('ignores a malformed ?timeout=, as kube-apiserver does', async () => {
    const res = await h.request('GET', `${TEMPLATES}?timeout=soon`);
    expect(res.status).toBe(200);
  });

  it('never cancels writes: a create whose client hangs up still completes in Coder', async () => {
    h.fake.knobs.routeLatencyMs.set('POST /api/v2/users/{user}/workspaces', 1_000);
    const hangUp = new AbortController();
    const body = {
      apiVersion: 'aggregation.coder.com/v1alpha1',
      kind: 'CoderWorkspace',
      metadata: { name: 'coder.alice.hung-up' },
      spec: { organization: 'coder', templateName: 'docker', running: false },
    };
    const pending = h.request('POST', WORKSPACES, { body, signal: hangUp.signal }).catch((e: unknown) => e);
    await eventually('the create to be in flight', () => Promise.resolve(h.api.server.inflight > 0 || undefined));
    hangUp.abort();
    await pending;
    const created = await eventually('the workspace to exist', async () => {
      const res = await h.request('GET', `${WORKSPACES}/coder.alice.hung-up`);
      return res.status === 200 ? res : undefined;
    }, 10_000);
    expect(created.body).toMatchObject({ metadata: { name: 'coder.alice.hung-up' } });
  });
});
