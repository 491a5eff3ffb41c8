import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { GROUP, VERSION } from '../../api/coder/v1alpha1/resources.ts';
import type { CoderControlPlaneStatus } from '../../api/coder/v1alpha1/schema.ts';
import {
  CONDITION_ELIGIBLE,
  CONDITION_LICENSE_APPLIED,
  CONDITION_OPERATOR_ACCESS_READY,
  CONDITION_READY,
  DEFAULT_TOKEN_KEY,
  type CoderControlPlane,
} from '../../api/coder/v1alpha1/types.ts';
import { CoderClient } from '../../coder/client.ts';
import { isCoderApiError } from '../../coder/errors.ts';
import type { EligibilityCache } from '../../eligibility/cache.ts';
import type { ResilientInformer } from '../../kube/informer.ts';
import { readSecret, secretValue } from '../../kube/secrets.ts';
import type { Logger } from '../../logging/logger.ts';
import { setCondition, type ConditionInput } from '../conditions.ts';
import { OperatorBootstrap } from './bootstrap.ts';
import { LicenseReconciler } from './license.ts';
import { InClusterObjects, type DeploymentState } from './in-cluster.ts';
import { WORKSPACE_RBAC_FINALIZER, inClusterURL } from './objects.ts';
import type { ReconcileResult } from '../controller.ts';
import { isConflict } from '../../kube/errors.ts';
import { ControlPlaneEvents, type TokenIssue } from './events.ts';
import type { EventRecorder } from '../../kube/events.ts';

export interface ControlPlaneReconcilerOptions {
  kubeConfig: KubeConfig;
  controlPlanes: ResilientInformer<CoderControlPlane>;
  eligibility: EligibilityCache;
  logger: Logger;
  coderTimeoutMs: number;
  /** How often a healthy control plane is re-checked (token still valid, Coder reachable). */
  resyncMs?: number;
  /** Kubernetes Events about control planes (none without). */
  events?: EventRecorder;
}

interface AccessResult {
  condition: ConditionInput;
  tokenRef?: { name: string; key: string };
  /** The working token, for the license step; never written to status or logs. */
  token?: string;
  coderReachable: boolean;
  /** What the bootstrap did in this pass, for events. */
  issued?: TokenIssue;
  firstUser?: { username: string; secretName: string };
}

const PLURAL = 'codercontrolplanes';

/**
 * Reconciles a CoderControlPlane: for an in-cluster one, its ServiceAccount, Service,
 * Deployment, workspace RBAC (finalizer-cleaned outside its namespace) and Ingress or
 * HTTPRoute; for every one, its status: where Coder is, whether the operator token works
 * (checked against Coder), readiness, phase and the eligibility cache's verdict. Level-triggered: every pass re-reads everything; status is
 * written only when it changed, with the object's resourceVersion (a conflict retries).
 */
export class ControlPlaneReconciler {
  readonly #o: ControlPlaneReconcilerOptions;
  readonly #core: CoreV1Api;
  readonly #objects: CustomObjectsApi;
  readonly #inCluster: InClusterObjects;
  readonly #bootstrap: OperatorBootstrap;
  readonly #license: LicenseReconciler;
  readonly #events: ControlPlaneEvents;

  constructor(options: ControlPlaneReconcilerOptions) {
    this.#o = options;
    this.#core = options.kubeConfig.makeApiClient(CoreV1Api);
    this.#objects = options.kubeConfig.makeApiClient(CustomObjectsApi);
    this.#inCluster = new InClusterObjects(options.kubeConfig, options.logger);
    this.#bootstrap = new OperatorBootstrap(options.kubeConfig, options.logger, options.coderTimeoutMs);
    this.#license = new LicenseReconciler(options.kubeConfig, options.coderTimeoutMs);
    this.#events = new ControlPlaneEvents(options.events);
  }

  async reconcile(key: string): Promise<ReconcileResult | undefined> {
    const [namespace = '', name = ''] = key.split('/');
    const ccp = this.#o.controlPlanes.get(name, namespace);
    if (!ccp) return undefined;
    try {
      return await this.#reconcile(ccp);
    } catch (err) {
      // Every failed pass; the recorder folds repeats of the same error into one series.
      this.#events.reconcileFailed(ccp, err);
      throw err;
    }
  }

  async #reconcile(ccp: CoderControlPlane): Promise<ReconcileResult | undefined> {
    const { namespace, name } = ccp.metadata;
    const external = !!ccp.spec.external?.url;
    // Deleted, or switched to an external deployment: release what the finalizer guards.
    if (ccp.metadata.deletionTimestamp || (external && ccp.metadata.finalizers?.includes(WORKSPACE_RBAC_FINALIZER))) {
      await this.#inCluster.finalize(ccp);
      if (ccp.metadata.deletionTimestamp) return undefined;
    }
    if (!external && !(await this.#inCluster.ensureFinalizer(ccp))) return undefined;

    const generation = ccp.metadata.generation;
    const current = ccp.status ?? {};
    let conditions = current.conditions ?? [];
    const status: CoderControlPlaneStatus = { ...current, ...(generation !== undefined ? { observedGeneration: generation } : {}) };

    let deployed: DeploymentState | undefined;
    if (!external) {
      deployed = await this.#inCluster.converge(ccp);
      status.readyReplicas = deployed.readyReplicas;
    } else {
      delete status.readyReplicas;
    }
    const url = ccp.spec.external?.url ?? inClusterURL(ccp);
    status.url = url;
    const access = await this.#operatorAccess(ccp, url);
    if (access.firstUser) this.#events.firstUserCreated(ccp, access.firstUser.username, access.firstUser.secretName);
    if (access.issued) this.#events.tokenIssued(ccp, access.issued);
    const retry = !access.coderReachable;
    conditions = setCondition(conditions, access.condition, generation);
    status.operatorAccessReady = access.condition.status === 'True';
    if (access.tokenRef) status.operatorTokenSecretRef = access.tokenRef;
    else delete status.operatorTokenSecretRef;
    conditions = setCondition(conditions, readyCondition(url, access, deployed), generation);
    if (access.token) {
      try {
        const license = await this.#license.reconcile(ccp, url, access.token);
        if (license.status.licenseLastApplied) this.#events.licenseApplied(ccp, license.status.licenseTier);
        Object.assign(status, license.status);
        conditions = setCondition(conditions, license.condition, generation);
      } catch (err) {
        const message = isCoderApiError(err) ? err.describe() : err instanceof Error ? err.message : String(err);
        conditions = setCondition(conditions, { type: CONDITION_LICENSE_APPLIED, status: 'Unknown', reason: 'CoderUnreachable', message }, generation);
      }
    }
    status.phase = conditions.find((c) => c.type === CONDITION_READY)?.status === 'True' ? 'Ready' : 'Pending';

    const verdict = this.#o.eligibility.verdict(namespace, name);
    if (verdict) {
      conditions = setCondition(
        conditions,
        { type: CONDITION_ELIGIBLE, status: verdict.eligible ? 'True' : 'False', reason: verdict.reason, message: verdict.message },
        generation,
      );
    }
    status.conditions = conditions;

    if (JSON.stringify(normalise(status)) !== JSON.stringify(normalise(current))) {
      try {
        await this.#objects.replaceNamespacedCustomObjectStatus({
          group: GROUP,
          version: VERSION,
          namespace,
          plural: PLURAL,
          name,
          body: { ...ccp, status },
        });
      } catch (err) {
        // The cache was behind our own last write (or someone else's): reconcile again
        // from the newer object instead of reporting a failure.
        if (!isConflict(err)) throw err;
        this.#o.logger.debug('status update conflicted; requeueing', { namespace, name });
        return { requeueAfterMs: 250 };
      }
      this.#o.logger.info('updated CoderControlPlane status', { namespace, name, phase: status.phase, eligible: verdict?.eligible });
      this.#events.statusWritten(ccp, current, status, deployed?.applied);
    }
    return { requeueAfterMs: retry ? 15_000 : (this.#o.resyncMs ?? 5 * 60_000) };
  }

  async #operatorAccess(ccp: CoderControlPlane, url: string): Promise<AccessResult> {
    const type = CONDITION_OPERATOR_ACCESS_READY;
    if (ccp.spec.operatorAccess?.disabled) {
      return { coderReachable: true, condition: { type, status: 'False', reason: 'Disabled', message: 'spec.operatorAccess.disabled is true' } };
    }
    const ref = ccp.spec.operatorAccess?.tokenSecretRef;
    if (!ref) {
      try {
        const result = await this.#bootstrap.ensure(ccp, url);
        if (!result.ok) return { coderReachable: true, condition: { type, status: 'False', reason: result.reason, message: result.message } };
        return {
          coderReachable: true,
          token: result.token,
          tokenRef: { name: result.secretName, key: DEFAULT_TOKEN_KEY },
          ...(result.issued ? { issued: { ...result.issued, secretName: result.secretName, username: result.username } } : {}),
          ...(result.firstUser ? { firstUser: result.firstUser } : {}),
          condition: { type, status: 'True', reason: 'Bootstrapped', message: `operator user "${result.username}" with a token in Secret "${result.secretName}"` },
        };
      } catch (err) {
        const message = isCoderApiError(err) ? err.describe() : err instanceof Error ? err.message : String(err);
        const unreachable = isCoderApiError(err) && (err.statusCode === 0 || err.statusCode >= 500);
        return { coderReachable: !unreachable, condition: { type, status: 'False', reason: unreachable ? 'CoderUnreachable' : 'BootstrapFailed', message } };
      }
    }
    const tokenKey = ref.key ?? DEFAULT_TOKEN_KEY;
    const tokenRef = { name: ref.name, key: tokenKey };
    const secret = await readSecret(this.#core, ccp.metadata.namespace, ref.name);
    if (!secret) {
      return { coderReachable: true, condition: { type, status: 'False', reason: 'TokenSecretNotFound', message: `Secret "${ref.name}" does not exist` } };
    }
    const token = secretValue(secret, tokenKey);
    if (!token) {
      return { coderReachable: true, condition: { type, status: 'False', reason: 'TokenEmpty', message: `Secret "${ref.name}" has no value under key "${tokenKey}"` } };
    }
    const coder = new CoderClient({ url, token, timeoutMs: this.#o.coderTimeoutMs, maxRetries: 0 });
    try {
      const me = await coder.getUser('me');
      return {
        coderReachable: true,
        tokenRef,
        token,
        condition: { type, status: 'True', reason: 'TokenValid', message: `the token authenticates as Coder user "${me.username}"` },
      };
    } catch (err) {
      if (isCoderApiError(err) && (err.statusCode === 401 || err.statusCode === 403)) {
        return { coderReachable: true, tokenRef, condition: { type, status: 'False', reason: 'TokenRejected', message: `Coder rejected the token in Secret "${ref.name}": ${err.describe()}` } };
      }
      const message = isCoderApiError(err) ? err.describe() : String(err);
      return { coderReachable: false, tokenRef, condition: { type, status: 'False', reason: 'CoderUnreachable', message } };
    } finally {
      await coder.close();
    }
  }
}

function readyCondition(url: string, access: AccessResult, deployed: DeploymentState | undefined): ConditionInput {
  const type = CONDITION_READY;
  if (deployed && deployed.problems.length > 0) {
    return { type, status: 'False', reason: 'ExposureFailed', message: deployed.problems.join('; ') };
  }
  if (deployed && deployed.replicas > 0 && deployed.readyReplicas === 0) {
    return { type, status: 'False', reason: 'DeploymentNotReady', message: `no coderd replica is ready yet (0/${deployed.replicas}); check the Deployment's Pods` };
  }
  if (!access.coderReachable) {
    return { type, status: 'False', reason: 'CoderUnreachable', message: `Coder at ${url} does not answer: ${access.condition.message}` };
  }
  if (access.condition.status !== 'True') return { type, status: 'False', reason: 'OperatorAccessNotReady', message: access.condition.message };
  return { type, status: 'True', reason: 'Ready', message: `Coder at ${url} answers and the operator token works` };
}

/** Status without condition timestamps, for change detection. */
function normalise(status: CoderControlPlaneStatus): unknown {
  return { ...status, conditions: (status.conditions ?? []).map(({ lastTransitionTime: _t, ...c }) => c) };
}
