import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { KubeConfig } from '@kubernetes/client-node';
import type { CoderControlPlane } from '../../api/coder/v1alpha1/types.ts';
import { LicenseReconciler } from './license.ts';

// An AGPL Coder as v2.30.0 answers: no licensing routes at all.
let server: Server;
let url: string;
const seen: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push(`${req.method ?? ''} ${req.url ?? ''}`);
    res.writeHead(404, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ message: 'Route not found.' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const ccp = (spec: CoderControlPlane['spec']): CoderControlPlane => ({
  apiVersion: 'coder.com/v1alpha1',
  kind: 'CoderControlPlane',
  metadata: { name: 'coder', namespace: 'team-a', generation: 1 },
  spec,
});

describe('LicenseReconciler against a Coder without licensing (AGPL)', () => {
  // A cluster nobody answers at: the Secret must not even be read.
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromClusterAndUser({ name: 'none', server: 'https://127.0.0.1:1', skipTLSVerify: false }, { name: 'none' });
  const reconciler = new LicenseReconciler(kubeConfig, 5000);

  it('says so plainly, not that Coder is unreachable, and records no tier', async () => {
    const outcome = await reconciler.reconcile(ccp({}), url, 'token');
    expect(outcome.condition).toEqual({
      type: 'LicenseApplied',
      status: 'False',
      reason: 'LicensingNotSupported',
      message: `Coder at ${url} has no licensing (an AGPL build: it does not serve /api/v2/entitlements)`,
    });
    expect(outcome.status).toMatchObject({ licenseTier: 'none', externalProvisionerDaemonsEntitlement: 'not_entitled' });
  });

  it('names the license that cannot be applied, without reading the Secret or uploading it', async () => {
    seen.length = 0;
    const outcome = await reconciler.reconcile(ccp({ licenseSecretRef: { name: 'coder-license' } }), url, 'token');
    expect(outcome.condition.reason).toBe('LicensingNotSupported');
    expect(outcome.condition.message).toContain('the license in Secret "coder-license" cannot be applied');
    expect(seen).toEqual(['GET /api/v2/entitlements']);
  });
});
