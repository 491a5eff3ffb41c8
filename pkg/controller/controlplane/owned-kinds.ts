import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  NetworkingV1Api,
  RbacAuthorizationV1Api,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
} from '@kubernetes/client-node';
import type { OwnedKind } from '../owned.ts';
import { LABEL_OWNER_NAME, LABEL_OWNER_NAMESPACE } from './objects.ts';

/** Everything an in-cluster control plane owns carries these labels (objects.ts). */
export const OWNED_SELECTOR = `app.kubernetes.io/managed-by=coder-k8s,${LABEL_OWNER_NAMESPACE},${LABEL_OWNER_NAME}`;

/** The owning CoderControlPlane's key, from the owner labels (which also cross namespaces). */
export function ownerKey(object: KubernetesObject): string | undefined {
  const labels = object.metadata?.labels;
  const namespace = labels?.[LABEL_OWNER_NAMESPACE];
  const name = labels?.[LABEL_OWNER_NAME];
  return namespace && name ? `${namespace}/${name}` : undefined;
}

/**
 * The kinds InClusterObjects applies (in-cluster.ts): Deployment, Service, ServiceAccount,
 * the workspace Role and RoleBinding, Ingress, and HTTPRoute when the Gateway API is
 * installed. The operator creates no cluster-scoped objects.
 */
export function controlPlaneOwnedKinds(kubeConfig: KubeConfig): OwnedKind[] {
  const apps = kubeConfig.makeApiClient(AppsV1Api);
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const networking = kubeConfig.makeApiClient(NetworkingV1Api);
  const rbac = kubeConfig.makeApiClient(RbacAuthorizationV1Api);
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  return [
    { resource: 'deployments', path: '/apis/apps/v1/deployments', list: (labelSelector) => apps.listDeploymentForAllNamespaces({ labelSelector }) },
    { resource: 'services', path: '/api/v1/services', list: (labelSelector) => core.listServiceForAllNamespaces({ labelSelector }) },
    { resource: 'serviceaccounts', path: '/api/v1/serviceaccounts', list: (labelSelector) => core.listServiceAccountForAllNamespaces({ labelSelector }) },
    { resource: 'ingresses', path: '/apis/networking.k8s.io/v1/ingresses', list: (labelSelector) => networking.listIngressForAllNamespaces({ labelSelector }) },
    { resource: 'roles', path: '/apis/rbac.authorization.k8s.io/v1/roles', list: (labelSelector) => rbac.listRoleForAllNamespaces({ labelSelector }) },
    { resource: 'rolebindings', path: '/apis/rbac.authorization.k8s.io/v1/rolebindings', list: (labelSelector) => rbac.listRoleBindingForAllNamespaces({ labelSelector }) },
    {
      resource: 'httproutes',
      path: '/apis/gateway.networking.k8s.io/v1/httproutes',
      list: async (labelSelector) =>
        (await custom.listClusterCustomObject({ group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes', labelSelector })) as KubernetesListObject<KubernetesObject>,
      optional: { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute' },
    },
  ];
}
