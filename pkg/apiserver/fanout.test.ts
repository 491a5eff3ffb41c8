import { describe, expect, it, jest } from '@jest/globals';
import { CODER_TEMPLATE } from '../api/aggregation/v1alpha1/resources.ts';
import { StatusError, serviceUnavailable } from '../api/meta/status-error.ts';
import type { KubeObject } from '../api/meta/types.ts';
import { createMetrics } from '../metrics/metrics.ts';
import type { StorageContext } from '../storage/context.ts';
import type { Storage } from '../storage/storage.ts';
import { cancellation } from '../coder/cancellation.ts';
import { listAllNamespaces } from './fanout.ts';

type Behaviour = { items: string[]; delayMs?: number; fail?: StatusError };

/** The cancellation each namespace's list ran under: what its Coder requests would be aborted by. */
const signals = new Map<string, AbortSignal | undefined>();

function storage(behaviour: Record<string, Behaviour>, inFlight: { now: number; max: number }): Pick<Storage<KubeObject>, 'info' | 'list'> {
  return {
    info: CODER_TEMPLATE,
    async list(ctx: StorageContext) {
      signals.set(ctx.backend.namespace, cancellation());
      const b = behaviour[ctx.backend.namespace] ?? { items: [] };
      inFlight.now++;
      inFlight.max = Math.max(inFlight.max, inFlight.now);
      try {
        await new Promise((r) => setTimeout(r, b.delayMs ?? 5));
        if (b.fail) throw b.fail;
        return b.items.map((name) => ({ apiVersion: 'v1', kind: 'X', metadata: { namespace: ctx.backend.namespace, name } }));
      } finally {
        inFlight.now--;
      }
    },
  };
}

const context = (namespace: string) => ({ backend: { namespace, url: `https://${namespace}`, coder: {} as never }, dryRun: false, warnings: [] });

describe('all-namespaces fan-out', () => {
  it('merges every namespace and bounds concurrency', async () => {
    const namespaces = Array.from({ length: 10 }, (_, i) => `ns-${i}`);
    const inFlight = { now: 0, max: 0 };
    const s = storage(Object.fromEntries(namespaces.map((ns) => [ns, { items: ['a', 'b'], delayMs: 10 }])), inFlight);
    const metrics = createMetrics({ defaultMetrics: false });
    const items = await listAllNamespaces(s, namespaces, context, { concurrency: 3, timeoutMs: 1000, metrics });
    expect(items).toHaveLength(20);
    expect(inFlight.max).toBe(3);
    expect(await metrics.registry.getSingleMetricAsString('coder_k8s_fanout_namespaces')).toContain('coder_k8s_fanout_namespaces_sum{resource="codertemplates",verb="list"} 10');
  });

  it('fails the whole list naming the namespace that failed', async () => {
    const s = storage({ a: { items: ['x'] }, b: { items: [], fail: serviceUnavailable('Coder at https://b is unreachable') } }, { now: 0, max: 0 });
    const err = await listAllNamespaces(s, ['a', 'b'], context, { concurrency: 4, timeoutMs: 1000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StatusError);
    expect((err as StatusError).code).toBe(503);
    expect((err as StatusError).message).toBe('listing codertemplates failed in 1 of 2 namespace(s): b: Coder at https://b is unreachable');
  });

  it('times out a slow namespace instead of waiting for it', async () => {
    jest.useFakeTimers();
    try {
      const s = storage({ fast: { items: ['x'] }, slow: { items: ['y'], delayMs: 2000 } }, { now: 0, max: 0 });
      const pending = listAllNamespaces(s, ['fast', 'slow'], context, { concurrency: 4, timeoutMs: 50 }).catch((e: unknown) => e);
      // The answer is there once the deadline has passed, long before the slow namespace replies.
      await jest.advanceTimersByTimeAsync(60);
      const err = await pending;
      expect((err as StatusError).code).toBe(504);
      expect((err as StatusError).message).toContain('slow: no answer from namespace slow within 50ms');
      // The slow namespace's Coder requests are aborted at the deadline, not left running.
      expect(signals.get('slow')?.aborted).toBe(true);
      expect(signals.get('fast')?.aborted).toBe(false);
    } finally {
      jest.useRealTimers();
    }
  });

  it('returns nothing for no namespaces', async () => {
    expect(await listAllNamespaces(storage({}, { now: 0, max: 0 }), [], context, { concurrency: 1, timeoutMs: 10 })).toEqual([]);
  });
});
