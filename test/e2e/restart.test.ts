import { describe, expect, it } from '@jest/globals';
import { clusterDown, clusterUp } from '../../hack/lib/cluster.ts';
import { alive } from '../../hack/lib/process.ts';
import { eventually } from '../util/eventually.ts';
import { NAMESPACE, STACK_TIMEOUT_MS, useE2E } from './stack.ts';

const e = useE2E();

describe('resilience', () => {
  it('keeps serving after kube-apiserver restarts', async () => {
    await clusterDown(e.cluster.stateDir);
    const whileDown = await e.kubectl(['get', 'ctpl', '-n', NAMESPACE, '--request-timeout=5s']);
    expect(whileDown.code).not.toBe(0);
    await clusterUp(e.cluster.stateDir);
    const out = await eventually(
      'listing through the restarted kube-apiserver',
      async () => {
        const res = await e.kubectl(['get', 'codertemplates', '-n', NAMESPACE, '-o', 'name']);
        return res.code === 0 ? res.stdout : undefined;
      },
      90_000,
    );
    expect(out).toContain('codertemplate.aggregation.coder.com/coder.docker');
    expect(alive(e.product.pid)).toBe(true);
    // Delegated authorization works again too: a user without rights is refused by coder-k8s' SAR path.
    const forbidden = await e.kubectl(['get', 'cws', '-n', NAMESPACE, '--as=nobody']);
    expect(forbidden.stderr).toContain('forbidden');
  }, STACK_TIMEOUT_MS);
});
