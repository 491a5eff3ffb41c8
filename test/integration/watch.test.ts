import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { ResourceVersionClock } from '../../pkg/watch/resource-version.ts';
import { defaultSeed } from '../fakes/coderd/index.ts';
import { GROUP_VERSION, TABLE, TEMPLATES, WORKSPACES, eventually, startHarness, type Harness } from './harness.ts';
import { createWorkspaceInCoder } from '../util/out-of-band.ts';
import type { OpenedWatch, WireEvent } from './watch-client.ts';

let h: Harness;
const open: OpenedWatch[] = [];
beforeAll(async () => {
  h = await startHarness({ flags: ['--watch-poll-interval=200ms', '--watch-history-size=20', '--watch-bookmark-interval=300ms'] });
});
afterAll(async () => {
  await h.close();
});
beforeEach(async () => {
  for (const w of open.splice(0)) w.close();
  await h.api.background.idle();
  await h.fake.reset();
});

async function watch(path: string, accept?: string): Promise<OpenedWatch> {
  const w = await h.watch(path, accept);
  open.push(w);
  return w;
}

async function listRV(path: string): Promise<string> {
  const res = await h.request('GET', path);
  expect(res.status).toBe(200);
  return res.body.metadata.resourceVersion as string;
}

const named = (type: string, name: string) => (e: WireEvent) => e.type === type && e.object?.metadata?.name === name;

const createInCoder = (owner: string, name: string) => createWorkspaceInCoder(h.fake, owner, name);

describe('watch: changes', () => {
  it('advertises watch in discovery', async () => {
    const res = await h.request('GET', GROUP_VERSION);
    for (const r of res.body.resources) expect(r.verbs).toContain('watch');
  });

  it('shows a workspace created directly in Coder and its build finishing, then Ready', async () => {
    const w = await watch(`${WORKSPACES}?watch=true&resourceVersion=${await listRV(WORKSPACES)}`);
    expect(w.status).toBe(200);
    expect(w.headers['content-type']).toBe('application/json');
    h.fake.knobs.pauseJobs();
    await createInCoder('alice', 'oob');
    const added = await w.next('ADDED coder.alice.oob', named('ADDED', 'coder.alice.oob'));
    expect(added.object.kind).toBe('CoderWorkspace');
    expect(added.object.status.conditions).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'Building', status: 'True' })]));
    h.fake.knobs.resumeJobs();
    const ready = await w.next('the build to finish', (e) => e.object?.metadata?.name === 'coder.alice.oob' && e.object.status.latestBuildStatus === 'running');
    expect(ready.type).toBe('MODIFIED');
    expect(ready.object.status.conditions).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: 'Ready', status: 'True' }), expect.objectContaining({ type: 'Building', status: 'False' })]),
    );
    // Versions increase along the stream.
    expect(BigInt(ready.object.metadata.resourceVersion)).toBeGreaterThan(BigInt(added.object.metadata.resourceVersion));
  });

  it('publishes writes made through this server at once, once, with the version the write returned', async () => {
    const w = await watch(`${TEMPLATES}?watch=true&resourceVersion=${await listRV(TEMPLATES)}`);
    const res = await h.request('PATCH', `${TEMPLATES}/coder.docker`, { body: { spec: { description: 'patched' } }, contentType: 'application/merge-patch+json' });
    expect(res.status).toBe(200);
    const event = await w.next('MODIFIED coder.docker', named('MODIFIED', 'coder.docker'));
    expect(event.object.metadata.resourceVersion).toBe(res.body.metadata.resourceVersion);
    expect(event.object.spec.description).toBe('patched');
    expect(event.object.spec.files).toBeUndefined();
    // Polls that follow see nothing new, and GET agrees on the version.
    const polls = h.fake.counters.get('GET /api/v2/templates');
    await eventually('two more polls', () => Promise.resolve((h.fake.counters.get('GET /api/v2/templates')) >= polls + 2 || undefined));
    expect(w.events.filter((e) => e.object?.metadata?.name === 'coder.docker')).toHaveLength(1);
    expect((await h.request('GET', `${TEMPLATES}/coder.docker`)).body.metadata.resourceVersion).toBe(res.body.metadata.resourceVersion);
  });

  it('sends DELETED for a workspace deleted through this server', async () => {
    const w = await watch(`${WORKSPACES}?watch=true&resourceVersion=${await listRV(WORKSPACES)}`);
    const res = await h.request('DELETE', `${WORKSPACES}/coder.alice.dev`);
    expect([200, 202]).toContain(res.status);
    const deleted = await w.next('DELETED coder.alice.dev', named('DELETED', 'coder.alice.dev'));
    expect(deleted.object.metadata.name).toBe('coder.alice.dev');
  });
});

describe('watch: protocol', () => {
  it('watch-list: the current state, then a BOOKMARK marking the end of the initial events', async () => {
    const w = await watch(`${WORKSPACES}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true`);
    const end = await w.next('the initial-events-end bookmark', (e) => e.type === 'BOOKMARK');
    expect(end.object.metadata.annotations).toEqual({ 'k8s.io/initial-events-end': 'true' });
    expect(w.events.slice(0, 3).map((e) => `${e.type} ${e.object.metadata.name as string}`)).toEqual([
      'ADDED acme.bob.ml',
      'ADDED coder.admin.sandbox',
      'ADDED coder.alice.dev',
    ]);
    // Periodic bookmarks follow, each a version to resume from.
    const later = await w.next('a periodic bookmark', (e) => e.type === 'BOOKMARK' && !e.object.metadata.annotations);
    const resumed = await watch(`${WORKSPACES}?watch=true&resourceVersion=${later.object.metadata.resourceVersion as string}`);
    expect(resumed.status).toBe(200);
  });

  it('rejects watch parameters kube-apiserver rejects', async () => {
    const noMatch = await h.request('GET', `${WORKSPACES}?watch=true&sendInitialEvents=true`);
    expect(noMatch.status).toBe(400);
    expect(noMatch.body.message).toContain('resourceVersionMatch');
    const noBookmarks = await h.request('GET', `${WORKSPACES}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan`);
    expect(noBookmarks.status).toBe(400);
    expect(noBookmarks.body.message).toContain('allowWatchBookmarks');
    const timeout = await h.request('GET', `${WORKSPACES}?watch=true&timeoutSeconds=soon`);
    expect(timeout.status).toBe(400);
    expect(timeout.body.message).toContain('timeoutSeconds');
    const rvMatch = await h.request('GET', `${WORKSPACES}?resourceVersionMatch=NotOlderThan`);
    expect(rvMatch.status).toBe(400);
    const garbage = await h.request('GET', `${WORKSPACES}?resourceVersion=abc`);
    expect(garbage.status).toBe(400);
    expect(garbage.body.message).toContain('resourceVersion');
  });

  it('answers 410 Expired before streaming for another process\'s version and for one older than the history', async () => {
    const foreign = new ResourceVersionClock();
    const other = await h.request('GET', `${WORKSPACES}?watch=true&resourceVersion=${foreign.format(foreign.next())}`);
    expect(other.status).toBe(410);
    expect(other.body).toMatchObject({ kind: 'Status', reason: 'Expired', code: 410 });

    const old = await listRV(TEMPLATES);
    for (let i = 0; i < 22; i++) {
      const res = await h.request('PATCH', `${TEMPLATES}/coder.docker`, { body: { spec: { description: `d${i}` } }, contentType: 'application/merge-patch+json' });
      expect(res.status).toBe(200);
    }
    const tooOld = await h.request('GET', `${TEMPLATES}?watch=true&resourceVersion=${old}`);
    expect(tooOld.status).toBe(410);
    expect(tooOld.body.message).toContain('too old resource version');
  });

  it('serves one-row Tables to kubectl get -w, with column definitions in the first event only', async () => {
    const w = await watch(`${WORKSPACES}?watch=true`, TABLE);
    await w.next('three rows', () => w.events.length >= 3);
    expect(w.events[0]?.object.kind).toBe('Table');
    expect(w.events[0]?.object.columnDefinitions.map((c: { name: string }) => c.name)).toContain('Status');
    expect(w.events[0]?.object.rows).toHaveLength(1);
    expect(w.events[1]?.object.columnDefinitions).toEqual([]);
    expect(w.events[1]?.object.rows[0].object.kind).toBe('PartialObjectMetadata');
  });

  it('serves metadata only to metadata clients, for LIST and WATCH', async () => {
    const list = await h.request('GET', WORKSPACES, { accept: 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json' });
    expect(list.body.kind).toBe('PartialObjectMetadataList');
    expect(list.body.apiVersion).toBe('meta.k8s.io/v1');
    expect(list.body.items[0]).toEqual({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: expect.objectContaining({ name: 'acme.bob.ml' }) });
    const w = await watch(`${WORKSPACES}?watch=true&resourceVersion=${list.body.metadata.resourceVersion as string}`, 'application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json');
    await createInCoder('bob', 'meta');
    const added = await w.next('ADDED coder.bob.meta', named('ADDED', 'coder.bob.meta'));
    expect(added.object.kind).toBe('PartialObjectMetadata');
    expect(added.object.spec).toBeUndefined();
  });

  it('filters by label and field selectors', async () => {
    const byOwner = await watch(`${WORKSPACES}?watch=true&labelSelector=${encodeURIComponent('aggregation.coder.com/owner=bob')}`);
    const byName = await watch(`${WORKSPACES}?watch=true&fieldSelector=${encodeURIComponent('metadata.name=coder.alice.dev')}`);
    await byOwner.next('bob\'s workspace', named('ADDED', 'acme.bob.ml'));
    await byName.next('alice\'s workspace', named('ADDED', 'coder.alice.dev'));
    await createInCoder('bob', 'second');
    await byOwner.next('bob\'s new workspace', named('ADDED', 'coder.bob.second'));
    expect(byOwner.events.every((e) => e.object.metadata.labels['aggregation.coder.com/owner'] === 'bob')).toBe(true);
    expect(byName.events.every((e) => e.object.metadata.name === 'coder.alice.dev')).toBe(true);
    const bad = await h.request('GET', `${WORKSPACES}?watch=true&fieldSelector=spec.running%3Dtrue`);
    expect(bad.status).toBe(400);
  });

  it('ends at timeoutSeconds', async () => {
    const w = await watch(`${WORKSPACES}?watch=true&timeoutSeconds=1`);
    await w.end();
  });

  it('LIST with resourceVersion=0 is served from a fresh watch snapshot, without reading Coder', async () => {
    await watch(`${WORKSPACES}?watch=true`);
    const reads = h.fake.counters.get('GET /api/v2/workspaces');
    const cached = await h.request('GET', `${WORKSPACES}?resourceVersion=0`);
    expect(cached.status).toBe(200);
    expect(cached.body.items).toHaveLength(3);
    expect(h.fake.counters.get('GET /api/v2/workspaces')).toBeLessThanOrEqual(reads + 1);
  });
});

describe('watch: a client that cannot keep up', () => {
  let slowHarness: Harness;
  beforeAll(async () => {
    const seed = defaultSeed();
    for (let i = 0; i < 300; i++) seed.workspaces.push({ owner: 'alice', template: 'coder/docker', name: `w${i}`, state: 'running' });
    slowHarness = await startHarness({ fake: { seed }, flags: ['--watch-poll-interval=200ms', '--watch-buffer-size=50'] });
  });
  afterAll(async () => {
    await slowHarness.close();
  });

  it('is closed with a 410 ERROR and counted, while a fast watcher sees every change', async () => {
    const rv = (await slowHarness.request('GET', WORKSPACES)).body.metadata.resourceVersion as string;
    const fast = await slowHarness.watch(`${WORKSPACES}?watch=true&resourceVersion=${rv}`);
    const slow = await slowHarness.watch(`${WORKSPACES}?watch=true&resourceVersion=${rv}`);
    slow.pause();
    const dropped = async () => {
      const text = await slowHarness.metrics.registry.getSingleMetricAsString('coder_k8s_watch_events_dropped_total');
      return Number(/reason="slow_watcher"} (\d+)/.exec(text)?.[1] ?? 0);
    };
    // Every workspace is used at once (in Coder), round after round, until the paused
    // client's socket and buffer are full and it has stayed behind for the grace period.
    let changes = 0;
    for (let round = 1; round <= 60 && (await dropped()) === 0; round++) {
      const usedAt = new Date(Date.now() + round * 3_600_000).toISOString();
      for (const w of slowHarness.fake.state.workspaces.list()) w.last_used_at = usedAt;
      changes += 303;
      await eventually(`the fast watcher to see round ${round}`, () => Promise.resolve(fast.events.length >= changes || undefined), 30_000);
    }
    const missed = await eventually('the slow watcher to be counted', async () => (await dropped()) || undefined, 10_000);
    expect(fast.events).toHaveLength(changes);
    expect(fast.events.every((e) => e.type === 'MODIFIED')).toBe(true);
    slow.resume();
    await slow.end();
    expect(slow.events.at(-1)).toMatchObject({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
    expect(slow.events.length - 1 + missed).toBeLessThanOrEqual(changes);
    expect(fast.ended).toBe(false);
    fast.close();
  });
});

describe('watch: shutdown', () => {
  it('ends open watches cleanly when the server stops', async () => {
    const own = await startHarness();
    const w = await own.watch(`${WORKSPACES}?watch=true`);
    await w.next('the initial state', () => w.events.length >= 3);
    await own.api.stop();
    await w.end();
    expect(w.events.every((e) => e.type === 'ADDED')).toBe(true);
    expect(await own.metrics.registry.getSingleMetricAsString('coder_k8s_watchers')).toContain('coder_k8s_watchers{resource="coderworkspaces"} 0');
    await own.close();
  });
});
