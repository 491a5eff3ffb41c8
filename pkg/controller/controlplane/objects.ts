import type { KubernetesObject } from '@kubernetes/client-node';
import { API_VERSION } from '../../api/coder/v1alpha1/resources.ts';
import type { CoderControlPlane } from '../../api/coder/v1alpha1/types.ts';

// The objects an in-cluster CoderControlPlane owns, as plain manifests applied with
// server-side apply. Pure functions of the CoderControlPlane, so they are unit-tested.

type Json = Record<string, unknown>;
export type Manifest = KubernetesObject & Json;

export const HTTP_PORT = 8080;
export const WORKSPACE_RBAC_FINALIZER = 'coder.com/workspace-rbac';

export function selectorLabels(ccp: CoderControlPlane): Record<string, string> {
  return { 'app.kubernetes.io/name': 'coder', 'app.kubernetes.io/instance': ccp.metadata.name };
}

export const LABEL_OWNER_NAMESPACE = 'coder.com/control-plane-namespace';
export const LABEL_OWNER_NAME = 'coder.com/control-plane-name';

/** Labels on everything a control plane owns; the owner labels find objects across namespaces. */
function labels(ccp: CoderControlPlane): Record<string, string> {
  return {
    ...selectorLabels(ccp),
    'app.kubernetes.io/managed-by': 'coder-k8s',
    'app.kubernetes.io/part-of': 'coder',
    [LABEL_OWNER_NAMESPACE]: ccp.metadata.namespace,
    [LABEL_OWNER_NAME]: ccp.metadata.name,
  };
}

export function ownerSelector(ccp: CoderControlPlane): string {
  return `${LABEL_OWNER_NAMESPACE}=${ccp.metadata.namespace},${LABEL_OWNER_NAME}=${ccp.metadata.name}`;
}

function ownerReference(ccp: CoderControlPlane): Json {
  return {
    apiVersion: API_VERSION,
    kind: 'CoderControlPlane',
    name: ccp.metadata.name,
    uid: ccp.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

function meta(ccp: CoderControlPlane, name: string, extra: { labels?: Record<string, string>; annotations?: Record<string, string>; namespace?: string } = {}): Json {
  const namespace = extra.namespace ?? ccp.metadata.namespace;
  return {
    name,
    namespace,
    labels: { ...labels(ccp), ...extra.labels },
    ...(extra.annotations ? { annotations: extra.annotations } : {}),
    // Owner references cannot cross namespaces; those objects are cleaned up by a finalizer.
    ...(namespace === ccp.metadata.namespace ? { ownerReferences: [ownerReference(ccp)] } : {}),
  };
}

export function serviceAccountName(ccp: CoderControlPlane): string {
  return ccp.spec.serviceAccount?.name ?? ccp.metadata.name;
}

/** The in-cluster URL of coderd, used when nothing overrides CODER_ACCESS_URL. */
export function inClusterURL(ccp: CoderControlPlane): string {
  const port = ccp.spec.service?.port ?? 80;
  return `http://${ccp.metadata.name}.${ccp.metadata.namespace}.svc.cluster.local${port === 80 ? '' : `:${port}`}`;
}

export function serviceAccount(ccp: CoderControlPlane): Manifest | undefined {
  if (ccp.spec.serviceAccount?.disableCreate) return undefined;
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: meta(ccp, serviceAccountName(ccp), {
      ...(ccp.spec.serviceAccount?.labels ? { labels: ccp.spec.serviceAccount.labels } : {}),
      ...(ccp.spec.serviceAccount?.annotations ? { annotations: ccp.spec.serviceAccount.annotations } : {}),
    }),
  };
}

export function service(ccp: CoderControlPlane): Manifest {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(ccp, ccp.metadata.name, ccp.spec.service?.annotations ? { annotations: ccp.spec.service.annotations } : {}),
    spec: {
      type: ccp.spec.service?.type ?? 'ClusterIP',
      selector: selectorLabels(ccp),
      ports: [{ name: 'http', port: ccp.spec.service?.port ?? 80, targetPort: 'http', protocol: 'TCP' }],
    },
  };
}

function probe(spec: { enabled?: boolean; initialDelaySeconds?: number; periodSeconds?: number; timeoutSeconds?: number; failureThreshold?: number } | undefined, enabledByDefault: boolean): Json | undefined {
  if (!(spec?.enabled ?? enabledByDefault)) return undefined;
  const { enabled: _enabled, ...timing } = spec ?? {};
  return { httpGet: { path: '/healthz', port: 'http' }, ...timing };
}

export function deployment(ccp: CoderControlPlane): Manifest {
  const spec = ccp.spec;
  const extraEnv = (spec.extraEnv ?? []) as { name?: string }[];
  const env: Json[] = [];
  if ((spec.envUseClusterAccessURL ?? true) && !extraEnv.some((e) => e.name === 'CODER_ACCESS_URL')) {
    env.push({ name: 'CODER_ACCESS_URL', value: inClusterURL(ccp) });
  }
  const volumes: Json[] = [...((spec.volumes ?? []) as Json[])];
  const mounts: Json[] = [...((spec.volumeMounts ?? []) as Json[])];
  const tlsSecrets = spec.tls?.secretNames ?? [];
  if (tlsSecrets.length > 0) {
    env.push(
      { name: 'CODER_TLS_ENABLE', value: 'true' },
      { name: 'CODER_TLS_ADDRESS', value: '0.0.0.0:8443' },
      { name: 'CODER_TLS_CERT_FILE', value: tlsSecrets.map((s) => `/etc/ssl/certs/coder/${s}/tls.crt`).join(',') },
      { name: 'CODER_TLS_KEY_FILE', value: tlsSecrets.map((s) => `/etc/ssl/certs/coder/${s}/tls.key`).join(',') },
    );
    for (const s of tlsSecrets) {
      volumes.push({ name: `tls-${s}`, secret: { secretName: s } });
      mounts.push({ name: `tls-${s}`, mountPath: `/etc/ssl/certs/coder/${s}`, readOnly: true });
    }
  }
  for (const cert of spec.certs?.secrets ?? []) {
    volumes.push({ name: `ca-${cert.name}`, secret: { secretName: cert.name } });
    mounts.push({ name: `ca-${cert.name}`, mountPath: `/etc/ssl/certs/${cert.name}.crt`, subPath: cert.key, readOnly: true });
  }
  const readiness = probe(spec.readinessProbe, true);
  const liveness = probe(spec.livenessProbe, false);
  const container: Json = {
    name: 'coder',
    image: spec.image ?? 'ghcr.io/coder/coder:latest',
    args: ['--http-address=0.0.0.0:8080', ...(spec.extraArgs ?? [])],
    ports: [{ name: 'http', containerPort: HTTP_PORT, protocol: 'TCP' }],
    env: [...env, ...extraEnv],
    ...(spec.envFrom ? { envFrom: spec.envFrom } : {}),
    ...(spec.resources ? { resources: spec.resources } : {}),
    ...(spec.securityContext ? { securityContext: spec.securityContext } : {}),
    ...(readiness ? { readinessProbe: readiness } : {}),
    ...(liveness ? { livenessProbe: liveness } : {}),
    ...(mounts.length > 0 ? { volumeMounts: mounts } : {}),
  };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(ccp, ccp.metadata.name),
    spec: {
      replicas: spec.replicas ?? 1,
      selector: { matchLabels: selectorLabels(ccp) },
      template: {
        metadata: { labels: labels(ccp) },
        spec: {
          serviceAccountName: serviceAccountName(ccp),
          containers: [container],
          ...(volumes.length > 0 ? { volumes } : {}),
          ...(spec.imagePullSecrets ? { imagePullSecrets: spec.imagePullSecrets } : {}),
          ...(spec.podSecurityContext ? { securityContext: spec.podSecurityContext } : {}),
          ...(spec.nodeSelector ? { nodeSelector: spec.nodeSelector } : {}),
          ...(spec.tolerations ? { tolerations: spec.tolerations } : {}),
          ...(spec.affinity ? { affinity: spec.affinity } : {}),
          ...(spec.topologySpreadConstraints ? { topologySpreadConstraints: spec.topologySpreadConstraints } : {}),
        },
      },
    },
  };
}

export function workspaceRoleName(ccp: CoderControlPlane): string {
  return `${ccp.metadata.name}-workspace-perms`;
}

/** Namespaces coderd provisions workspaces in: its own plus rbac.workspaceNamespaces. */
export function workspaceNamespaces(ccp: CoderControlPlane): string[] {
  return [...new Set([ccp.metadata.namespace, ...(ccp.spec.rbac?.workspaceNamespaces ?? [])])];
}

export function workspaceRBAC(ccp: CoderControlPlane, namespace: string): Manifest[] {
  const rbac = ccp.spec.rbac ?? {};
  if (!(rbac.workspacePerms ?? true)) return [];
  const all = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
  const rules: Json[] = [
    { apiGroups: [''], resources: ['pods', 'persistentvolumeclaims'], verbs: all },
    ...((rbac.enableDeployments ?? true) ? [{ apiGroups: ['apps'], resources: ['deployments'], verbs: all }] : []),
    ...((rbac.extraRules ?? []) as Json[]),
  ];
  const name = workspaceRoleName(ccp);
  return [
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: meta(ccp, name, { namespace }), rules },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta(ccp, name, { namespace }),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name: serviceAccountName(ccp), namespace: ccp.metadata.namespace }],
    },
  ];
}

export function exposure(ccp: CoderControlPlane): Manifest | undefined {
  const port = ccp.spec.service?.port ?? 80;
  const ingress = ccp.spec.expose?.ingress;
  if (ingress) {
    return {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: meta(ccp, ccp.metadata.name, ingress.annotations ? { annotations: ingress.annotations } : {}),
      spec: {
        ...(ingress.className ? { ingressClassName: ingress.className } : {}),
        rules: [
          {
            host: ingress.host,
            http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: ccp.metadata.name, port: { number: port } } } }] },
          },
        ],
        ...(ingress.tlsSecretName ? { tls: [{ hosts: [ingress.host], secretName: ingress.tlsSecretName }] } : {}),
      },
    };
  }
  const gateway = ccp.spec.expose?.gateway;
  if (gateway) {
    return {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: meta(ccp, ccp.metadata.name),
      spec: {
        parentRefs: gateway.parentRefs,
        hostnames: [gateway.host],
        rules: [{ backendRefs: [{ name: ccp.metadata.name, port }] }],
      },
    };
  }
  return undefined;
}
