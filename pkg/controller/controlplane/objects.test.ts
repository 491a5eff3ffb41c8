import { describe, expect, it } from '@jest/globals';
import type { CoderControlPlane } from '../../api/coder/v1alpha1/types.ts';
import { deployment, exposure, inClusterURL, service, serviceAccount, workspaceNamespaces, workspaceRBAC } from './objects.ts';

const base: CoderControlPlane = {
  apiVersion: 'coder.com/v1alpha1',
  kind: 'CoderControlPlane',
  metadata: { name: 'coder', namespace: 'apps', uid: 'uid-1' },
  spec: {},
};
const withSpec = (spec: CoderControlPlane['spec']): CoderControlPlane => ({ ...base, spec });
const container = (ccp: CoderControlPlane) => (deployment(ccp) as any).spec.template.spec.containers[0];

describe('owned objects', () => {
  it('defaults CODER_ACCESS_URL to the in-cluster URL unless the user sets it', () => {
    expect(container(base).env).toEqual([{ name: 'CODER_ACCESS_URL', value: 'http://coder.apps.svc.cluster.local' }]);
    expect(inClusterURL(withSpec({ service: { port: 8080 } }))).toBe('http://coder.apps.svc.cluster.local:8080');
    const own = container(withSpec({ extraEnv: [{ name: 'CODER_ACCESS_URL', value: 'https://coder.example.com' }] }));
    expect(own.env).toEqual([{ name: 'CODER_ACCESS_URL', value: 'https://coder.example.com' }]);
    expect(container(withSpec({ envUseClusterAccessURL: false })).env).toEqual([]);
  });

  it('mounts TLS and CA Secrets', () => {
    const d = deployment(withSpec({ tls: { secretNames: ['tls-a'] }, certs: { secrets: [{ name: 'corp-ca', key: 'ca.crt' }] } })) as any;
    const c = d.spec.template.spec.containers[0];
    expect(c.env).toEqual(expect.arrayContaining([{ name: 'CODER_TLS_CERT_FILE', value: '/etc/ssl/certs/coder/tls-a/tls.crt' }]));
    expect(c.volumeMounts).toEqual(expect.arrayContaining([expect.objectContaining({ mountPath: '/etc/ssl/certs/corp-ca.crt', subPath: 'ca.crt' })]));
    expect(d.spec.template.spec.volumes).toHaveLength(2);
  });

  it('adds probes only when enabled', () => {
    expect(container(base).readinessProbe).toMatchObject({ httpGet: { path: '/healthz', port: 'http' } });
    expect(container(base).livenessProbe).toBeUndefined();
    expect(container(withSpec({ readinessProbe: { enabled: false }, livenessProbe: { enabled: true, periodSeconds: 7 } })).livenessProbe).toMatchObject({ periodSeconds: 7 });
  });

  it('owns objects in its namespace only', () => {
    expect((service(base).metadata as any).ownerReferences[0]).toMatchObject({ uid: 'uid-1', controller: true });
    const [role] = workspaceRBAC(withSpec({ rbac: { workspaceNamespaces: ['other'] } }), 'other');
    expect((role?.metadata as any).ownerReferences).toBeUndefined();
    expect(workspaceNamespaces(withSpec({ rbac: { workspaceNamespaces: ['other', 'apps'] } }))).toEqual(['apps', 'other']);
  });

  it('honours RBAC switches and an existing ServiceAccount', () => {
    expect(workspaceRBAC(withSpec({ rbac: { workspacePerms: false } }), 'apps')).toEqual([]);
    const [role] = workspaceRBAC(withSpec({ rbac: { enableDeployments: false } }), 'apps');
    expect(JSON.stringify((role as any).rules)).not.toContain('deployments');
    expect(serviceAccount(withSpec({ serviceAccount: { disableCreate: true, name: 'mine' } }))).toBeUndefined();
    expect((deployment(withSpec({ serviceAccount: { disableCreate: true, name: 'mine' } })) as any).spec.template.spec.serviceAccountName).toBe('mine');
  });

  it('exposes through an Ingress or an HTTPRoute', () => {
    expect(exposure(base)).toBeUndefined();
    expect(exposure(withSpec({ expose: { ingress: { host: 'c.example.com', tlsSecretName: 't' } } }))).toMatchObject({ kind: 'Ingress', spec: { tls: [{ secretName: 't' }] } });
    expect(exposure(withSpec({ expose: { gateway: { host: 'c.example.com', parentRefs: [{ name: 'gw' }] } } }))).toMatchObject({ kind: 'HTTPRoute', spec: { hostnames: ['c.example.com'] } });
  });
});
