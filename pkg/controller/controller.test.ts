import { describe, expect, it } from '@jest/globals';
import { eventually } from '../../test/util/eventually.ts';
import { cancellation } from '../coder/cancellation.ts';
import { nullLogger } from '../logging/logger.ts';
import { createMetrics } from '../metrics/metrics.ts';
import { Controller } from './controller.ts';

function controller(reconcile: (key: string) => Promise<undefined>) {
  return new Controller({ name: 'test', reconcile, workers: 1, logger: nullLogger(), metrics: createMetrics({ defaultMetrics: false }) });
}

describe('Controller', () => {
  it('cuts the Coder requests of a reconcile in flight when it stops (a lost lease)', async () => {
    let signal: AbortSignal | undefined;
    let entered: () => void = () => undefined;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const c = controller(async () => {
      signal = cancellation();
      entered();
      // A reconcile waiting on Coder: it ends when its requests are aborted.
      await new Promise((resolve) => signal?.addEventListener('abort', resolve, { once: true }));
      return undefined;
    });
    c.start();
    c.enqueue('ns/a');
    await inside;
    expect(signal?.aborted).toBe(false);
    await c.stop();
    expect(signal?.aborted).toBe(true);
  });

  it('stops within its grace period even when a reconcile never returns', async () => {
    let entered: () => void = () => undefined;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const c = controller(() => {
      entered();
      return new Promise<undefined>(() => undefined);
    });
    c.start();
    c.enqueue('ns/a');
    await inside;
    await expect(c.stop(50)).resolves.toBeUndefined();
  });

  it('starts again with a fresh queue after a stop', async () => {
    const seen: string[] = [];
    const c = controller((key) => {
      seen.push(key);
      return Promise.resolve(undefined);
    });
    c.start();
    await c.stop();
    c.enqueue('ns/ignored');
    c.start();
    c.enqueue('ns/b');
    await eventually('the new queue to be worked', () => Promise.resolve(seen.includes('ns/b') || undefined));
    await c.stop();
    expect(seen).toEqual(['ns/b']);
  });
});
