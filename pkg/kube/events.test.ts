import { describe, expect, it } from '@jest/globals';
import { ApiException, type EventsV1Event } from '@kubernetes/client-node';
import { createLogger } from '../logging/logger.ts';
import { EventRecorder, microTime, type EventReference, type EventSeries, type EventSink } from './events.ts';

const CCP: EventReference = { apiVersion: 'coder.com/v1alpha1', kind: 'CoderControlPlane', namespace: 'team-a', name: 'coder', uid: 'u-1' };
const OTHER: EventReference = { ...CCP, name: 'other', uid: 'u-2' };

/** An in-memory events API: what was created and patched, and knobs to fail. */
class FakeSink implements EventSink {
  readonly events = new Map<string, EventsV1Event>();
  readonly calls: string[] = [];
  failNext: Error[] = [];

  create(event: EventsV1Event): Promise<void> {
    this.calls.push(`create ${event.reason ?? ''}${event.series ? ` x${event.series.count}` : ''}`);
    const failure = this.failNext.shift();
    if (failure) return Promise.reject(failure);
    this.events.set(event.metadata?.name ?? '', structuredClone(event));
    return Promise.resolve();
  }

  patchSeries(_namespace: string, name: string, series: EventSeries): Promise<void> {
    this.calls.push(`patch x${series.count}`);
    const failure = this.failNext.shift();
    if (failure) return Promise.reject(failure);
    const event = this.events.get(name);
    if (!event) return Promise.reject(new ApiException(404, 'not found', {}, {}));
    event.series = series as unknown as EventsV1Event['series'];
    return Promise.resolve();
  }

  only(): EventsV1Event {
    expect(this.events.size).toBe(1);
    return [...this.events.values()][0] as EventsV1Event;
  }
}

function recorder(sink: FakeSink, clock: { now: number }, extra: Partial<ConstructorParameters<typeof EventRecorder>[0]> = {}): EventRecorder {
  return new EventRecorder({
    sink,
    reportingController: 'coder-k8s',
    reportingInstance: 'host_1',
    logger: createLogger({ silent: true }),
    now: () => clock.now,
    flushIntervalMs: 0,
    ...extra,
  });
}

describe('EventRecorder', () => {
  it('creates an events.k8s.io/v1 Event about the object, with this controller and replica', async () => {
    const sink = new FakeSink();
    const clock = { now: Date.parse('2026-03-01T10:00:00.123Z') };
    const r = recorder(sink, clock);
    r.event(CCP, 'Normal', 'Deployed', 'Apply', 'applied Deployment "coder"');
    await r.flush();
    const event = sink.only();
    expect(event).toMatchObject({
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { namespace: 'team-a', name: expect.stringMatching(/^coder\.[0-9a-f]+$/) },
      eventTime: '2026-03-01T10:00:00.123000Z',
      reportingController: 'coder-k8s',
      reportingInstance: 'host_1',
      type: 'Normal',
      reason: 'Deployed',
      action: 'Apply',
      note: 'applied Deployment "coder"',
      regarding: CCP,
    });
    expect(event.series).toBeUndefined();
  });

  it('folds repeats into a series: the second occurrence is written at once, later ones by flush', async () => {
    const sink = new FakeSink();
    const clock = { now: 1_000_000 };
    const r = recorder(sink, clock);
    r.event(CCP, 'Warning', 'ReconcileError', 'Reconcile', 'HTTP 500: etcdserver: request timed out');
    await r.flush();
    clock.now += 1000;
    r.event(CCP, 'Warning', 'ReconcileError', 'Reconcile', 'HTTP 500: etcdserver: request timed out');
    // No flush needed for the second one: it turns the event into a series right away.
    await new Promise((resolve) => setImmediate(resolve));
    expect(sink.calls).toEqual(['create ReconcileError', 'patch x2']);
    for (let i = 0; i < 50; i++) {
      clock.now += 1000;
      r.event(CCP, 'Warning', 'ReconcileError', 'Reconcile', 'HTTP 500: etcdserver: request timed out');
    }
    // An error loop costs no API call per occurrence...
    expect(sink.calls).toEqual(['create ReconcileError', 'patch x2']);
    // ...its count is written periodically.
    await r.flush();
    expect(sink.calls).toEqual(['create ReconcileError', 'patch x2', 'patch x52']);
    expect(sink.only().series).toEqual({ count: 52, lastObservedTime: microTime(clock.now) });
    // Nothing new: nothing written.
    await r.flush();
    expect(sink.calls).toHaveLength(3);
  });

  it('keeps different notes, reasons, types and objects apart', async () => {
    const sink = new FakeSink();
    const r = recorder(sink, { now: 1_000_000 });
    r.event(CCP, 'Warning', 'ReconcileError', 'Reconcile', 'one');
    r.event(CCP, 'Warning', 'ReconcileError', 'Reconcile', 'two');
    r.event(CCP, 'Warning', 'TokenRejected', 'Reconcile', 'one');
    r.event(CCP, 'Normal', 'ReconcileError', 'Reconcile', 'one');
    r.event(OTHER, 'Warning', 'ReconcileError', 'Reconcile', 'one');
    await r.flush();
    expect(sink.events.size).toBe(5);
    expect([...sink.events.values()].every((e) => e.series === undefined)).toBe(true);
  });

  it('ends a series after the window with its final count; a later occurrence starts a new event', async () => {
    const sink = new FakeSink();
    const clock = { now: 1_000_000 };
    const r = recorder(sink, clock, { seriesFinishMs: 6 * 60_000 });
    for (let i = 0; i < 3; i++) r.event(CCP, 'Warning', 'CoderUnreachable', 'Reconcile', 'down');
    await r.flush();
    expect(sink.only().series?.count).toBe(3);
    clock.now += 6 * 60_000;
    await r.flush();
    r.event(CCP, 'Warning', 'CoderUnreachable', 'Reconcile', 'down');
    await r.flush();
    expect(sink.events.size).toBe(2);
    expect(sink.calls.at(-1)).toBe('create CoderUnreachable');
  });

  it('limits distinct events per object: a burst, then one per refill period', async () => {
    const sink = new FakeSink();
    const clock = { now: 1_000_000 };
    const r = recorder(sink, clock, { burst: 3, refillMs: 60_000 });
    for (let i = 0; i < 10; i++) r.event(CCP, 'Warning', 'ReconcileError', 'Reconcile', `error ${i}`);
    r.event(OTHER, 'Normal', 'Deployed', 'Apply', 'other objects have their own budget');
    await r.flush();
    expect([...sink.events.values()].map((e) => e.note)).toEqual(['error 0', 'error 1', 'error 2', 'other objects have their own budget']);
    expect(r.dropped).toBe(7);
    // A repeat of an event already recorded is counted, not dropped.
    r.event(CCP, 'Warning', 'ReconcileError', 'Reconcile', 'error 0');
    await r.flush();
    expect(r.dropped).toBe(7);
    clock.now += 60_000;
    r.event(CCP, 'Warning', 'ReconcileError', 'Reconcile', 'error 10');
    r.event(CCP, 'Warning', 'ReconcileError', 'Reconcile', 'error 11');
    await r.flush();
    expect([...sink.events.values()].map((e) => e.note)).toContain('error 10');
    expect(r.dropped).toBe(8);
  });

  it('creates the event again when it expired before the series was written', async () => {
    const sink = new FakeSink();
    const r = recorder(sink, { now: 1_000_000 });
    r.event(CCP, 'Warning', 'ReconcileError', 'Reconcile', 'boom');
    await r.flush();
    sink.events.clear(); // the API server's event TTL
    r.event(CCP, 'Warning', 'ReconcileError', 'Reconcile', 'boom');
    await r.flush();
    expect(sink.calls).toEqual(['create ReconcileError', 'patch x2', 'create ReconcileError x2']);
    expect(sink.only().series?.count).toBe(2);
  });

  it('retries a failed write on the next flush, and gives up after maxAttempts', async () => {
    const sink = new FakeSink();
    const r = recorder(sink, { now: 1_000_000 }, { maxAttempts: 2 });
    sink.failNext = [new ApiException(503, 'unavailable', {}, {})];
    r.event(CCP, 'Normal', 'Deployed', 'Apply', 'x');
    await r.flush();
    expect(sink.events.size).toBe(1);
    sink.failNext = [new ApiException(403, 'forbidden', {}, {}), new ApiException(403, 'forbidden', {}, {})];
    r.event(CCP, 'Normal', 'LicenseApplied', 'ApplyLicense', 'y');
    await r.flush();
    await r.flush();
    await r.flush();
    expect(sink.calls.filter((c) => c === 'create LicenseApplied')).toHaveLength(2);
    expect(sink.events.size).toBe(1);
  });

  it('keeps notes within the API limit of 1024 bytes', async () => {
    const sink = new FakeSink();
    const r = recorder(sink, { now: 1_000_000 });
    r.event(CCP, 'Warning', 'ReconcileError', 'Reconcile', 'é'.repeat(2000));
    await r.flush();
    const note = sink.only().note ?? '';
    expect(Buffer.byteLength(note)).toBeLessThanOrEqual(1024);
    expect(note.endsWith('...')).toBe(true);
  });

  it('writes pending counts on stop and records nothing after', async () => {
    const sink = new FakeSink();
    const r = recorder(sink, { now: 1_000_000 });
    for (let i = 0; i < 4; i++) r.event(CCP, 'Warning', 'ReconcileError', 'Reconcile', 'boom');
    await r.stop();
    expect(sink.only().series?.count).toBe(4);
    r.event(CCP, 'Normal', 'Deployed', 'Apply', 'late');
    await r.flush();
    expect(sink.events.size).toBe(1);
  });
});
