import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { GZIP_THRESHOLD_BYTES } from '../../pkg/apiserver/compression.ts';
import { defaultSeed } from '../fakes/coderd/index.ts';
import { eventually } from '../util/eventually.ts';
import { WORKSPACES, startHarness, type Harness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  // Lists of about 4 MB: above the 128 KiB gzip threshold, and large enough that a few
  // at once exceed HTTP/2's default session memory.
  const seed = defaultSeed();
  for (let i = 0; i < 3000; i++) seed.workspaces.push({ owner: 'alice', template: 'coder/docker', name: `w${i}`, state: 'running' });
  h = await startHarness({ fake: { seed } });
});
afterAll(async () => {
  await h.close();
});

describe('HTTP/2 with HTTP/1.1 fallback', () => {
  it('serves the same answer over both', async () => {
    const path = `${WORKSPACES}/coder.alice.dev`;
    const over2 = await h.http2(path, {});
    const over1 = await h.request('GET', path, { http1: true });
    expect(over2.status).toBe(200);
    expect(over1.status).toBe(200);
    expect(JSON.parse(over2.body)).toEqual(over1.body);
  });

  it('answers large LISTs sent at once over one HTTP/2 session', async () => {
    const answers = await h.http2Many(WORKSPACES, 8);
    expect(answers.map((a) => a.status)).toEqual(Array(8).fill(200));
    for (const a of answers) expect((JSON.parse(a.body) as { items: unknown[] }).items.length).toBeGreaterThan(3000);
  });

  it('streams a watch over HTTP/2', async () => {
    const watch = await h.watch(`${WORKSPACES}?watch=true&timeoutSeconds=1`);
    expect(watch.status).toBe(200);
    // HTTP/1.1 would stream it chunked; HTTP/2 has no such header.
    expect(watch.headers['transfer-encoding']).toBeUndefined();
    await watch.end(10_000);
    expect(watch.events.filter((e) => e.type === 'ADDED').length).toBeGreaterThan(3000);
  });
});

describe('gzip', () => {
  it('compresses a list above 128 KiB for a client that accepts gzip, as kube-apiserver does', async () => {
    const plain = await h.request('GET', WORKSPACES, { http1: true });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.text.length).toBeGreaterThan(GZIP_THRESHOLD_BYTES);
    const zipped = await h.raw('GET', WORKSPACES, { 'accept-encoding': 'gzip' });
    expect(zipped.status).toBe(200);
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.headers.vary).toContain('Accept-Encoding');
    expect(zipped.body.length).toBeLessThan(plain.text.length / 4);
    expect(JSON.parse(gunzipSync(zipped.body).toString('utf8'))).toEqual(plain.body);
  });

  it('writes a long list as it serialises it, and a short one whole with its length', async () => {
    // Over HTTP/1.1, where a body of unknown length is sent chunked.
    const long = await h.request('GET', WORKSPACES, { http1: true });
    expect(long.headers['transfer-encoding']).toBe('chunked');
    expect(long.headers['content-length']).toBeUndefined();
    expect((long.body as { items: unknown[] }).items.length).toBeGreaterThan(3000);
    const table = await h.raw('GET', WORKSPACES, { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io', 'accept-encoding': 'gzip' });
    expect(table.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(table.headers['content-encoding']).toBe('gzip');
    const rows = JSON.parse(gunzipSync(table.body).toString('utf8')) as { kind: string; rows: unknown[] };
    expect(rows.kind).toBe('Table');
    expect(rows.rows.length).toBeGreaterThan(3000);
    const short = await h.request('GET', `${WORKSPACES}?limit=10`, { http1: true });
    expect(short.headers['transfer-encoding']).toBeUndefined();
    expect(Number(short.headers['content-length'])).toBe(Buffer.byteLength(short.text));
  });

  it('counts a streamed list when it has been written, and leaves nothing in flight', async () => {
    const listed = async () => {
      const text = await h.metrics.registry.getSingleMetricAsString('coder_k8s_apiserver_requests_total');
      return Number(/verb="list",resource="coderworkspaces",code="200"} (\d+)/.exec(text)?.[1] ?? 0);
    };
    const before = await listed();
    const res = await h.request('GET', WORKSPACES, { http1: true });
    expect(res.headers['transfer-encoding']).toBe('chunked');
    await eventually('the list to be counted', async () => ((await listed()) === before + 1 ? true : undefined));
    await eventually('nothing in flight', () => Promise.resolve(h.api.server.inflight === 0 || undefined));
  });

  it('leaves small responses alone', async () => {
    const small = await h.raw('GET', `${WORKSPACES}/coder.alice.dev`, { 'accept-encoding': 'gzip' });
    expect(small.status).toBe(200);
    expect(small.headers['content-encoding']).toBeUndefined();
  });
});
