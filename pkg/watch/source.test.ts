import { describe, expect, it } from '@jest/globals';
import type { KubeObject } from '../api/meta/types.ts';
import { ResourceVersionClock } from './resource-version.ts';
import { EventSource } from './source.ts';
import type { Change } from './types.ts';

type Obj = KubeObject & { spec: { v: number } };
const obj = (name: string, v = 0, uid = `uid-${name}`): Obj => ({ apiVersion: 'x/v1', kind: 'X', metadata: { name, uid }, spec: { v } });

function setup(historySize = 100, read: () => Promise<Obj[]> = () => Promise.resolve([])) {
  const clock = new ResourceVersionClock(1_764_000_000_000, 3);
  const source = new EventSource<Obj>({ clock, historySize, read, pollIntervalMs: 1_000_000 });
  const seen: Change<Obj>[] = [];
  source.subscribe((c) => seen.push(c));
  return { clock, source, seen, summary: () => seen.map((c) => `${c.type} ${c.object.metadata.name ?? ''}:${String(c.object.spec.v)}`) };
}

describe('event source: diffing', () => {
  it('emits ADDED, MODIFIED and DELETED by identity and content, nothing for unchanged objects', () => {
    const { clock, source, summary } = setup();
    source.applyList([obj('a'), obj('b')], clock.current);
    source.applyList([obj('a', 1), obj('b')], clock.current);
    source.applyList([obj('a', 1)], clock.current);
    source.applyList([obj('a', 1)], clock.current);
    expect(summary()).toEqual(['ADDED a:0', 'ADDED b:0', 'MODIFIED a:1', 'DELETED b:0']);
  });

  it('treats a re-created object (same name, new Coder ID) as a deletion and an addition', () => {
    const { clock, source, summary } = setup();
    source.applyList([obj('a', 0, 'one')], clock.current);
    source.applyList([obj('a', 0, 'two')], clock.current);
    expect(summary()).toEqual(['ADDED a:0', 'DELETED a:0', 'ADDED a:0']);
  });

  it('gives each version one resourceVersion that GET, LIST and events agree on', () => {
    const { clock, source, seen } = setup();
    const [listed] = source.applyList([obj('a')], clock.current);
    const got = source.applyOne(obj('a'), clock.current);
    expect(got).toBe(listed?.metadata.resourceVersion);
    expect(seen[0]?.object.metadata.resourceVersion).toBe(got);
    expect(source.applyOne(obj('a', 2), clock.current)).not.toBe(got);
  });

  it('does not let a read that started before a write undo it', () => {
    const { clock, source, summary } = setup();
    source.applyList([obj('a'), obj('b')], clock.current);
    const readStart = clock.current;
    source.applyOne(obj('a', 5), clock.current); // a write published while the read was in flight
    source.applyDeleted(obj('b'));
    source.applyOne(obj('c'), clock.current);
    source.applyList([obj('a'), obj('b')], readStart); // the stale read still shows a:0, b, no c
    expect(summary()).toEqual(['ADDED a:0', 'ADDED b:0', 'MODIFIED a:5', 'DELETED b:0', 'ADDED c:0']);
    // A read that started afterwards is the truth again.
    source.applyList([obj('a', 5)], clock.current);
    expect(summary().slice(5)).toEqual(['DELETED c:0']);
  });

  it('shares one Coder read between concurrent refreshes', async () => {
    let reads = 0;
    const { source } = setup(100, async () => {
      reads++;
      await new Promise((r) => setTimeout(r, 5));
      return [obj('a')];
    });
    await Promise.all([source.refresh(), source.refresh(), source.refresh()]);
    expect(reads).toBe(1);
    expect(source.complete).toBe(true);
    expect(source.fresh(60_000)).toBe(true);
  });
});

describe('event source: history', () => {
  it('answers changes after a position and moves its window when full', () => {
    const { clock, source } = setup(3);
    source.applyList([obj('a')], clock.current);
    const afterA = clock.current;
    for (let v = 1; v <= 4; v++) source.applyOne(obj('a', v), clock.current);
    expect(source.windowStart).toBeGreaterThan(afterA);
    expect(source.changesSince(source.windowStart).map((c) => c.object.spec.v)).toEqual([2, 3, 4]);
    expect(source.changesSince(clock.current)).toEqual([]);
  });
});
