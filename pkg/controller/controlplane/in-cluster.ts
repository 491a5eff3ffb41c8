import {
  AppsV1Api,
  CustomObjectsApi,
  KubernetesObjectApi,
  PatchStrategy,
  RbacAuthorizationV1Api,
  type KubeConfig,
} from '@kubernetes/client-node';
import { GROUP, VERSION } from '../../api/coder/v1alpha1/resources.ts';
import type { CoderControlPlane } from '../../api/coder/v1alpha1/types.ts';
import { isNotFound } from '../../kube/errors.ts';
import type { Logger } from '../../logging/logger.ts';
import {
  WORKSPACE_RBAC_FINALIZER,
  deployment,
  exposure,
  ownerSelector,
  service,
  serviceAccount,
  workspaceNamespaces,
  workspaceRBAC,
  type Manifest,
} from './objects.ts';

const FIELD_MANAGER = 'coder-k8s';

export interface DeploymentState {
  readyReplicas: number;
  replicas: number;
  /** Why something could not be applied (e.g. the Gateway API is not installed). */
  problems: string[];
  /** What was applied, for people (the Deployed event): `Deployment "coder"`, ... */
  applied: string[];
}

/**
 * Converges the objects an in-cluster control plane owns with server-side apply
 * (idempotent, field-owned by coder-k8s), removes workspace RBAC from namespaces no longer
 * listed, and handles the finalizer that cleans up RBAC outside the owner's namespace.
 */
export class InClusterObjects {
  readonly #objects: KubernetesObjectApi;
  readonly #custom: CustomObjectsApi;
  readonly #apps: AppsV1Api;
  readonly #rbac: RbacAuthorizationV1Api;
  readonly #logger: Logger;

  constructor(kubeConfig: KubeConfig, logger: Logger) {
    this.#objects = KubernetesObjectApi.makeApiClient(kubeConfig);
    this.#custom = kubeConfig.makeApiClient(CustomObjectsApi);
    this.#apps = kubeConfig.makeApiClient(AppsV1Api);
    this.#rbac = kubeConfig.makeApiClient(RbacAuthorizationV1Api);
    this.#logger = logger;
  }

  async #apply(manifest: Manifest): Promise<void> {
    await this.#objects.patch(manifest, undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
  }

  /** Ensures the finalizer; returns false when the object was updated (the watch brings the new version). */
  async ensureFinalizer(ccp: CoderControlPlane): Promise<boolean> {
    if (ccp.metadata.finalizers?.includes(WORKSPACE_RBAC_FINALIZER)) return true;
    await this.#setFinalizers(ccp, [...(ccp.metadata.finalizers ?? []), WORKSPACE_RBAC_FINALIZER]);
    return false;
  }

  async converge(ccp: CoderControlPlane): Promise<DeploymentState> {
    const problems: string[] = [];
    const applied: string[] = [];
    const sa = serviceAccount(ccp);
    if (sa) await this.#apply(sa);
    await this.#apply(service(ccp));
    await this.#apply(deployment(ccp));
    applied.push(`Deployment "${ccp.metadata.name}"`, `Service "${ccp.metadata.name}"`);
    if (sa) applied.push(`ServiceAccount "${sa.metadata?.name ?? ''}"`);
    const namespaces = workspaceNamespaces(ccp);
    const rbacIn: string[] = [];
    for (const ns of namespaces) {
      let complete = true;
      const manifests = workspaceRBAC(ccp, ns);
      for (const manifest of manifests) {
        try {
          await this.#apply(manifest);
        } catch (err) {
          if (!isNotFound(err)) throw err;
          problems.push(`namespace "${ns}" for workspace RBAC does not exist`);
          complete = false;
        }
      }
      if (complete && manifests.length > 0) rbacIn.push(ns);
    }
    if (rbacIn.length > 0) applied.push(`workspace Role and RoleBinding in ${rbacIn.join(', ')}`);
    await this.#pruneRBAC(ccp, (ccp.spec.rbac?.workspacePerms ?? true) ? namespaces : []);
    const exposed = exposure(ccp);
    if (exposed) {
      try {
        await this.#apply(exposed);
        applied.push(`${exposed.kind} "${ccp.metadata.name}"`);
      } catch (err) {
        if (!isNotFound(err)) throw err;
        problems.push(`${exposed.kind} could not be created: the ${exposed.apiVersion ?? ''} API is not installed in this cluster`);
      }
    }
    const live = await this.#apps.readNamespacedDeployment({ name: ccp.metadata.name, namespace: ccp.metadata.namespace });
    return { readyReplicas: live.status?.readyReplicas ?? 0, replicas: live.spec?.replicas ?? 0, problems, applied };
  }

  /** Deletion: remove what owner references cannot reach, then release the finalizer. */
  async finalize(ccp: CoderControlPlane): Promise<void> {
    await this.#pruneRBAC(ccp, []);
    if (!ccp.metadata.finalizers?.includes(WORKSPACE_RBAC_FINALIZER)) return;
    await this.#setFinalizers(ccp, ccp.metadata.finalizers.filter((f) => f !== WORKSPACE_RBAC_FINALIZER));
    this.#logger.info('cleaned up workspace RBAC and released the finalizer', { namespace: ccp.metadata.namespace, name: ccp.metadata.name });
  }

  /** Replaces the finalizers; the object's resourceVersion makes a concurrent change a conflict (retried). */
  async #setFinalizers(ccp: CoderControlPlane, finalizers: string[]): Promise<void> {
    // Objects from the informer are plain JSON, whatever the client's metadata type says.
    const metadata = { ...(ccp.metadata as unknown as Record<string, unknown>), finalizers } as unknown as CoderControlPlane['metadata'];
    await this.#custom.replaceNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ccp.metadata.namespace,
      plural: 'codercontrolplanes',
      name: ccp.metadata.name,
      body: { ...ccp, metadata },
    });
  }

  async #pruneRBAC(ccp: CoderControlPlane, keep: readonly string[]): Promise<void> {
    const labelSelector = ownerSelector(ccp);
    const [roles, bindings] = await Promise.all([
      this.#rbac.listRoleForAllNamespaces({ labelSelector }),
      this.#rbac.listRoleBindingForAllNamespaces({ labelSelector }),
    ]);
    const gone = (ns: string | undefined) => !keep.includes(ns ?? '');
    for (const rb of bindings.items.filter((b) => gone(b.metadata?.namespace))) {
      await this.#rbac.deleteNamespacedRoleBinding({ name: rb.metadata?.name ?? '', namespace: rb.metadata?.namespace ?? '' }).catch(ignoreNotFound);
    }
    for (const role of roles.items.filter((r) => gone(r.metadata?.namespace))) {
      await this.#rbac.deleteNamespacedRole({ name: role.metadata?.name ?? '', namespace: role.metadata?.namespace ?? '' }).catch(ignoreNotFound);
    }
  }
}

function ignoreNotFound(err: unknown): void {
  if (!isNotFound(err)) throw err;
}
