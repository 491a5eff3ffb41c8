import { describe, expect, it } from '@jest/globals';
import type { NamespacePhase, NamespacePhases } from '../namespaces/lifecycle.ts';
import type { Backend } from '../storage/context.ts';
import type { BackendResolver } from './backends.ts';
import { NamespaceScopes } from './scope.ts';

const backend = (namespace: string): Backend => ({ namespace, url: `https://${namespace}`, coder: {} as never });

const resolver = (served: string[]): BackendResolver => ({
  resolve: (ns) => (served.includes(ns) ? backend(ns) : undefined),
  namespaces: () => served,
  unservedMessage: (ns) => `nothing serves ${ns}`,
});

const phases = (map: Record<string, NamespacePhase>, asked: { live?: boolean }[] = []): NamespacePhases => ({
  synced: true,
  phase: (ns, options = {}) => {
    asked.push(options);
    return Promise.resolve(map[ns] ?? 'Absent');
  },
});

describe('namespace scopes', () => {
  it('puts the namespace lifecycle before the control plane', async () => {
    const scopes = new NamespaceScopes(resolver(['a', 'b', 'c']), phases({ a: 'Active', b: 'Terminating', d: 'Active' }));
    expect(await scopes.scope('a')).toEqual({ kind: 'served', backend: backend('a') });
    expect(await scopes.scope('b')).toEqual({ kind: 'terminating' });
    expect(await scopes.scope('c')).toEqual({ kind: 'absent' });
    expect(await scopes.scope('d')).toEqual({ kind: 'unserved' });
    expect([...(await scopes.served()).keys()]).toEqual(['a']);
  });

  it('asks for a live phase only when told to', async () => {
    const asked: { live?: boolean }[] = [];
    const scopes = new NamespaceScopes(resolver(['a']), phases({ a: 'Active' }, asked));
    await scopes.scope('a');
    await scopes.scope('a', { live: true });
    expect(asked).toEqual([{ live: false }, { live: true }]);
  });

  it('treats every namespace as Active without cluster access', async () => {
    const scopes = new NamespaceScopes(resolver(['a']));
    expect((await scopes.scope('a')).kind).toBe('served');
    expect((await scopes.scope('z')).kind).toBe('unserved');
  });

  it('turns a failed lookup into 503 rather than guessing', async () => {
    const failing: NamespacePhases = { synced: true, phase: () => Promise.reject(new Error('connection refused')) };
    await expect(new NamespaceScopes(resolver(['a']), failing).scope('a', { live: true })).rejects.toMatchObject({
      code: 503,
      message: 'cannot tell whether namespace "a" is being deleted: connection refused',
    });
  });
});
