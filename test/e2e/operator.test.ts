import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { stringify } from 'yaml';
import { kubectl, mustKubectl } from '../../hack/lib/cluster.ts';
import { startStack, type Stack } from '../../hack/lib/stack.ts';
import { emptySeed, startFakeCoder, type FakeCoder } from '../fakes/coderd/index.ts';
import { eventually } from '../util/eventually.ts';
import { coderCall } from '../util/out-of-band.ts';
import { controlPlane, eligible as eligibleIn } from './control-planes.ts';
import { STACK_TIMEOUT_MS, clusterClient, stopStack } from './stack.ts';

const TEAMS = ['team-a', 'team-b', 'team-c'];
let dir: string;
let stack: Stack;
const fakes = new Map<string, FakeCoder>();

const k = (args: string[], input?: string) => kubectl(stack.cluster, args, input === undefined ? {} : { input });
const mk = (args: string[], input?: string) => mustKubectl(stack.cluster, args, input === undefined ? {} : { input });

const eligible = (namespace: string, name: string) => eligibleIn(stack.cluster, namespace, name);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'coder-k8s-e2e-operator-'));
  for (const team of TEAMS) fakes.set(team, await startFakeCoder({ buildTimings: { pendingMs: 20, runningMs: 80 } }));
  stack = await startStack({ stateDir: dir, mode: { kind: 'operator' }, namespaces: [...TEAMS, 'fresh', 'existing'] });
  for (const team of TEAMS) {
    const fake = fakes.get(team) as FakeCoder;
    await mk(['create', 'secret', 'generic', 'coder-operator', '-n', team, `--from-literal=token=${fake.adminToken}`]);
    await mk(['apply', '-f', '-'], controlPlane(team, 'coder', fake));
  }
  for (const team of TEAMS) {
    await eventually(`${team} to become eligible`, async () => ((await eligible(team, 'coder'))?.status === 'True' ? true : undefined), 60_000);
  }
}, STACK_TIMEOUT_MS);

afterAll(async () => {
  await stopStack(stack, dir);
  for (const fake of fakes.values()) await fake.close();
}, STACK_TIMEOUT_MS);

describe('the operator over three namespaces', () => {
  it('reports each CoderControlPlane Ready and Eligible', async () => {
    const out = await mk(['get', 'ccp', '-A']);
    const rows = out.trim().split('\n').slice(1).map((l) => l.split(/\s+/));
    expect(rows.map((r) => [r[0], r[1], r[2], r[4]])).toEqual([
      ['team-a', 'coder', 'Ready', 'True'],
      ['team-b', 'coder', 'Ready', 'True'],
      ['team-c', 'coder', 'Ready', 'True'],
    ]);
    const status = JSON.parse(await mk(['get', 'ccp', 'coder', '-n', 'team-a', '-o', 'jsonpath={.status}'])) as Record<string, any>;
    expect(status).toMatchObject({ phase: 'Ready', url: fakes.get('team-a')?.url, operatorAccessReady: true, operatorTokenSecretRef: { name: 'coder-operator', key: 'token' } });
    expect(status.conditions.find((c: { type: string }) => c.type === 'OperatorAccessReady')).toMatchObject({ status: 'True', reason: 'TokenValid' });
  });

  it('starts no reconcile for a status-only update, and one for a spec change', async () => {
    // Each pass of an external control plane with a working token reads its Coder's
    // entitlements, and team-a's Coder serves nobody else: its count is team-a's passes.
    // team-a is settled (Eligible, next resync in 5 minutes).
    const fake = fakes.get('team-a') as FakeCoder;
    const passes = () => fake.counters.get('GET /api/v2/entitlements');
    const before = passes();
    const ccp = JSON.parse(await mk(['get', 'ccp', 'coder', '-n', 'team-a', '-o', 'json'])) as Record<string, any>;
    expect(ccp.status.readyReplicas).toBeUndefined();
    // A status write like the reconciler's own: another generation of nothing.
    await mk(['patch', 'ccp', 'coder', '-n', 'team-a', '--subresource=status', '--type=merge', '-p', '{"status":{"readyReplicas":7}}']);
    // A spec change after it, on the same watch: its pass comes after any the status update caused.
    await mk(['patch', 'ccp', 'coder', '-n', 'team-a', '--type=merge', '-p', '{"spec":{"replicas":2}}']);
    const generation = (ccp.metadata.generation as number) + 1;
    const after = await eventually('the spec change to be reconciled', async () => {
      const c = JSON.parse(await mk(['get', 'ccp', 'coder', '-n', 'team-a', '-o', 'json'])) as Record<string, any>;
      return c.status?.observedGeneration === generation ? c : undefined;
    }, 30_000);
    // That pass put the status right (an external control plane has no readyReplicas)...
    expect(after.status.readyReplicas).toBeUndefined();
    // ...and was the only one: neither the status update nor its own status write started one.
    expect(passes() - before).toBe(1);
  });

  it('lists templates and workspaces of all namespaces, sorted by namespace and name', async () => {
    const templates = await mk(['get', 'codertemplates', '-A', '--no-headers', '-o', 'custom-columns=NS:.metadata.namespace,NAME:.metadata.name']);
    const expected = TEAMS.flatMap((t) => ['acme.python', 'coder.docker', 'coder.kubernetes'].map((n) => `${t} ${n}`));
    expect(templates.trim().split('\n').map((l) => l.trim().split(/\s+/).join(' '))).toEqual(expected);
    const workspaces = await mk(['get', 'coderworkspaces', '-A', '--no-headers', '-o', 'custom-columns=NS:.metadata.namespace']);
    expect(new Set(workspaces.trim().split('\n').map((l) => l.trim()))).toEqual(new Set(TEAMS));
  });

  it('touches only its own namespace for namespaced requests', async () => {
    const before = TEAMS.map((t) => fakes.get(t)?.counters.get('GET /api/v2/templates') ?? 0);
    await mk(['get', 'ctpl', '-n', 'team-b']);
    const after = TEAMS.map((t) => fakes.get(t)?.counters.get('GET /api/v2/templates') ?? 0);
    expect(after.map((a, i) => a - (before[i] ?? 0))).toEqual([0, 1, 0]);
  });

  it('records the fan-out in metrics', async () => {
    const text = await (await fetch(stack.product.metricsUrl)).text();
    expect(text).toMatch(/coder_k8s_fanout_namespaces_bucket\{le="5",resource="codertemplates",verb="list"\} [1-9]/);
    expect(text).toMatch(/coder_k8s_fanout_duration_seconds_count\{resource="codertemplates",verb="list"\} [1-9]/);
    expect(text).toMatch(/coder_k8s_eligible_control_planes 3/);
  });

  it('drops a namespace whose control plane becomes ineligible', async () => {
    await mk(['patch', 'ccp', 'coder', '-n', 'team-b', '--type=merge', '-p', '{"spec":{"operatorAccess":{"disabled":true}}}']);
    await eventually('team-b to leave the list', async () => {
      const out = await mk(['get', 'ctpl', '-A', '--no-headers', '-o', 'custom-columns=NS:.metadata.namespace']);
      return out.includes('team-b') ? undefined : out;
    }, 60_000);
    const verdict = await eligible('team-b', 'coder');
    expect(verdict).toMatchObject({ status: 'False', reason: 'OperatorAccessDisabled' });
    const direct = await k(['get', 'ctpl', '-n', 'team-b']);
    expect(direct.stderr).toContain('ServiceUnavailable');
    expect(direct.stderr).toContain('no eligible CoderControlPlane serves namespace "team-b"');
  });

  it('refuses a namespace with two qualifying control planes, naming both', async () => {
    await mk(['apply', '-f', '-'], controlPlane('team-c', 'second', fakes.get('team-c') as FakeCoder));
    await eventually('both to conflict', async () => {
      const [a, b] = [await eligible('team-c', 'coder'), await eligible('team-c', 'second')];
      return a?.reason === 'Conflict' && b?.reason === 'Conflict' ? true : undefined;
    }, 60_000);
    const res = await k(['get', 'ctpl', '-n', 'team-c']);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('BadRequest');
    expect(res.stderr).toContain('coder, second');
    await mk(['delete', 'ccp', 'second', '-n', 'team-c']);
    await eventually('team-c to be served again', async () => ((await k(['get', 'ctpl', '-n', 'team-c'])).code === 0 ? true : undefined), 60_000);
  });

  it('rejects invalid CoderControlPlanes through the CRD schema', async () => {
    const res = await k(['apply', '-f', '-'], stringify({
      apiVersion: 'coder.com/v1alpha1',
      kind: 'CoderControlPlane',
      metadata: { name: 'broken', namespace: 'team-a' },
      spec: { replicas: -1, external: { url: 'ftp://nope' }, expose: { ingress: { host: 'a' }, gateway: { host: 'b', parentRefs: [] } } },
    }));
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('spec.replicas');
    expect(res.stderr).toContain('spec.external.url');
    expect(res.stderr).toContain('set expose.ingress or expose.gateway, not both');
  });
});

describe('operator access without a token Secret', () => {
  const extra: FakeCoder[] = [];
  afterAll(async () => {
    for (const fake of extra) await fake.close();
  });

  function jwt(claims: Record<string, unknown>): string {
    const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    return `${part({ alg: 'EdDSA', typ: 'JWT' })}.${part(claims)}.c2lnbmF0dXJl`;
  }

  it('bootstraps a fresh Coder: first user, operator user, token Secret; then applies a license', async () => {
    const fresh = await startFakeCoder({ seed: emptySeed() });
    extra.push(fresh);
    const license = jwt({ exp: Math.floor(Date.now() / 1000) + 86400, features: { external_provisioner_daemons: 1 }, all_features: false });
    await mk(['create', 'secret', 'generic', 'coder-license', '-n', 'fresh', `--from-literal=license=${license}`]);
    await mk(['apply', '-f', '-'], stringify({
      apiVersion: 'coder.com/v1alpha1',
      kind: 'CoderControlPlane',
      metadata: { name: 'coder', namespace: 'fresh' },
      spec: { external: { url: fresh.url }, licenseSecretRef: { name: 'coder-license' } },
    }));
    await eventually('bootstrap', async () => ((await eligible('fresh', 'coder'))?.status === 'True' ? true : undefined), 60_000);
    const status = JSON.parse(await mk(['get', 'ccp', 'coder', '-n', 'fresh', '-o', 'jsonpath={.status}'])) as Record<string, any>;
    expect(status.operatorTokenSecretRef).toEqual({ name: 'coder-operator-token', key: 'token' });
    expect(status.conditions.find((c: { type: string }) => c.type === 'OperatorAccessReady')).toMatchObject({ status: 'True', reason: 'Bootstrapped' });
    expect(await mk(['get', 'secret', 'coder-admin-credentials', '-n', 'fresh', '-o', 'jsonpath={.data.email}'])).not.toBe('');
    const operator = fresh.state.users.find((u) => u.username === 'coder-k8s-operator');
    expect(operator?.roles).toContain('owner');
    await eventually('the license', async () => {
      const s = JSON.parse(await mk(['get', 'ccp', 'coder', '-n', 'fresh', '-o', 'jsonpath={.status}'])) as Record<string, any>;
      return s.conditions.find((c: { type: string; status: string }) => c.type === 'LicenseApplied' && c.status === 'True') ? s : undefined;
    }, 30_000).then((s) => {
      expect(s).toMatchObject({ licenseTier: 'enterprise', externalProvisionerDaemonsEntitlement: 'entitled', licenseLastAppliedHash: expect.any(String) });
    });
    // Another reconcile (triggered by an annotation) must not upload the same license again.
    const uploads = fresh.counters.get('POST /api/v2/licenses');
    const reconciles = async () => {
      const text = await (await fetch(stack.product.metricsUrl)).text();
      return [...text.matchAll(/^coder_k8s_reconcile_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
    };
    const before = await reconciles();
    await mk(['annotate', 'ccp', 'coder', '-n', 'fresh', 'touch=1']);
    await eventually('another reconcile', async () => ((await reconciles()) > before ? true : undefined), 30_000);
    expect(fresh.counters.get('POST /api/v2/licenses')).toBe(uploads);
    // The namespace is served by the bootstrapped token.
    expect((await k(['get', 'ctpl', '-n', 'fresh'])).code).toBe(0);
    // Each step is an Event on the control plane, and none carries a secret.
    const events = await eventually('the bootstrap events', async () => {
      const list = JSON.parse(await mk(['get', 'events', '-n', 'fresh', '--field-selector', 'involvedObject.kind=CoderControlPlane,involvedObject.name=coder', '-o', 'json'])) as { items: Record<string, any>[] };
      const reasons = new Set(list.items.map((e) => e.reason as string));
      return ['FirstUserCreated', 'TokenBootstrapped', 'LicenseApplied', 'EligibilityChanged'].every((r) => reasons.has(r)) ? list.items : undefined;
    }, 30_000);
    const byReason = (reason: string) => events.find((e) => e.reason === reason);
    expect(byReason('FirstUserCreated')?.message).toBe('created Coder\'s first user "admin"; its credentials are in Secret "coder-admin-credentials"');
    expect(byReason('TokenBootstrapped')?.message).toMatch(/^created an API token for Coder user "coder-k8s-operator", valid until \S+, in Secret "coder-operator-token"$/);
    expect(byReason('LicenseApplied')?.message).toBe('uploaded the license in Secret "coder-license" to Coder; tier enterprise');
    expect(events.filter((e) => e.reason === 'EligibilityChanged').at(-1)?.message).toMatch(/^eligible: /);
    const secret = async (name: string, key: string) => Buffer.from(await mk(['get', 'secret', name, '-n', 'fresh', '-o', `jsonpath={.data.${key}}`]), 'base64').toString();
    const secrets = [await secret('coder-operator-token', 'token'), await secret('coder-admin-credentials', 'password'), license];
    for (const e of events) for (const value of secrets) expect(e.message).not.toContain(value);
  });

  it('asks for admin credentials when Coder already has users', async () => {
    const used = await startFakeCoder();
    extra.push(used);
    await mk(['apply', '-f', '-'], stringify({
      apiVersion: 'coder.com/v1alpha1',
      kind: 'CoderControlPlane',
      metadata: { name: 'coder', namespace: 'existing' },
      spec: { external: { url: used.url } },
    }));
    const access = await eventually('AdminCredentialsRequired', async () => {
      const out = await k(['get', 'ccp', 'coder', '-n', 'existing', '-o', 'jsonpath={.status.conditions[?(@.type=="OperatorAccessReady")]}']);
      const c = out.stdout ? (JSON.parse(out.stdout) as { reason: string; message: string }) : undefined;
      return c?.reason === 'AdminCredentialsRequired' ? c : undefined;
    }, 30_000);
    expect(access.message).toContain('coder-admin-credentials');
    const warning = await eventually('a Warning event saying so', async () => {
      const list = JSON.parse(await mk(['get', 'events', '-n', 'existing', '--field-selector', 'involvedObject.name=coder,reason=AdminCredentialsRequired', '-o', 'json'])) as { items: Record<string, any>[] };
      return list.items[0];
    }, 30_000);
    expect(warning).toMatchObject({ type: 'Warning', message: access.message });
  });
});

describe('token rotation', () => {
  it('takes a renewed operator token under load without a failed request', async () => {
    const fake = fakes.get('team-c') as FakeCoder;
    const { api } = await clusterClient(stack.cluster.kubeconfig);
    const group = { group: 'aggregation.coder.com', version: 'v1alpha1', namespace: 'team-c' };
    let sent = 0;
    const failed: string[] = [];
    let running = true;
    // Template GETs make several Coder calls each: the ones caught mid-rotation must finish.
    const worker = async () => {
      while (running) {
        sent += 2;
        await Promise.all([
          api.listNamespacedCustomObject({ ...group, plural: 'coderworkspaces' }),
          api.getNamespacedCustomObject({ ...group, plural: 'codertemplates', name: 'coder.docker' }),
        ]).catch((err: unknown) => failed.push(err instanceof Error ? err.message : String(err)));
      }
    };
    // Slow enough that requests are mid-flight, between two Coder calls, when the client changes.
    fake.knobs.latencyMs = 40;
    const load = Array.from({ length: 4 }, () => worker());
    try {
      const { key } = await coderCall<{ key: string }>(fake, 'POST', '/api/v2/users/me/keys/tokens', { token_name: 'renewed' });
      const renewed = fake.state.apiKeys.get(key.split('-')[0] ?? '');
      if (!renewed) throw new Error('the renewed key is not in the fake');
      const unused = '1970-01-01T00:00:00Z';
      renewed.last_used = unused;
      const secret = await mk(['create', 'secret', 'generic', 'coder-operator', '-n', 'team-c', `--from-literal=token=${key}`, '--dry-run=client', '-o', 'yaml']);
      await mk(['apply', '-f', '-'], secret);
      await eventually('coder-k8s to use the renewed token', () => Promise.resolve(renewed.last_used !== unused || undefined), 30_000);
      const atSwitch = sent;
      await eventually('more load on the renewed token', () => Promise.resolve(sent > atSwitch + 24 || undefined), 30_000);
    } finally {
      running = false;
      await Promise.all(load);
      fake.knobs.latencyMs = 0;
    }
    expect(failed).toEqual([]);
    expect(sent).toBeGreaterThan(24);
    console.log(`token rotation under load: ${sent} requests sent, ${failed.length} failed`);
  }, 120_000);
});
