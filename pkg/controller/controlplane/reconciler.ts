import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { GROUP, VERSION } from '../../api/coder/v1alpha1/resources.ts';
import type { CoderControlPlaneStatus } from '../../api/coder/v1alpha1/schema.ts';
import {
  CONDITION_ELIGIBLE,
  CONDITION_OPERATOR_ACCESS_READY,
  CONDITION_READY,
  DEFAULT_TOKEN_KEY,
  type CoderControlPlane,
} from '../../api/coder/v1alpha1/types.ts';
import { CoderClient } from '../../coder/client.ts';
import { isCoderApiError } from '../../coder/errors.ts';
import type { EligibilityCache } from '../../eligibility/cache.ts';
import type { ResilientInformer } from '../../kube/informer.ts';
import type { Logger } from '../../logging/logger.ts';
import { setCondition, type ConditionInput } from '../conditions.ts';
import type { ReconcileResult } from '../controller.ts';

export interface ControlPlaneReconcilerOptions {
  kubeConfig: KubeConfig;
  controlPlanes: ResilientInformer<CoderControlPlane>;
  eligibility: EligibilityCache;
  logger: Logger;
  coderTimeoutMs: number;
  /** How often a healthy control plane is re-checked (token still valid, Coder reachable). */
  resyncMs?: number;
}

interface AccessResult {
  condition: ConditionInput;
  tokenRef?: { name: string; key: string };
  coderReachable: boolean;
}

const PLURAL = 'codercontrolplanes';

/**
 * Reconciles a CoderControlPlane's status: where Coder is (spec.external.url), whether the
 * operator token works (checked against Coder), readiness, phase and the Eligible verdict
 * of the eligibility cache. Level-triggered: every pass re-reads everything; status is
 * written only when it changed, with the object's resourceVersion (a conflict retries).
 */
export class ControlPlaneReconciler {
  readonly #o: ControlPlaneReconcilerOptions;
  readonly #core: CoreV1Api;
  readonly #objects: CustomObjectsApi;

  constructor(options: ControlPlaneReconcilerOptions) {
    this.#o = options;
    this.#core = options.kubeConfig.makeApiClient(CoreV1Api);
    this.#objects = options.kubeConfig.makeApiClient(CustomObjectsApi);
  }

  async reconcile(key: string): Promise<ReconcileResult | undefined> {
    const [namespace = '', name = ''] = key.split('/');
    const ccp = this.#o.controlPlanes.get(name, namespace);
    if (!ccp || ccp.metadata.deletionTimestamp) return undefined;

    const generation = ccp.metadata.generation;
    const current = ccp.status ?? {};
    const url = ccp.spec.external?.url ?? '';
    let conditions = current.conditions ?? [];
    const status: CoderControlPlaneStatus = { ...current, ...(generation !== undefined ? { observedGeneration: generation } : {}) };

    let retry = false;
    if (!url) {
      status.phase = 'Pending';
      conditions = setCondition(
        conditions,
        { type: CONDITION_READY, status: 'False', reason: 'InClusterDeploymentUnsupported', message: 'this build reconciles spec.external control planes only; set spec.external.url to an existing Coder deployment' },
        generation,
      );
      conditions = setCondition(conditions, { type: CONDITION_OPERATOR_ACCESS_READY, status: 'False', reason: 'NoURL', message: 'no Coder URL to check a token against' }, generation);
      status.operatorAccessReady = false;
      delete status.url;
    } else {
      status.url = url;
      const access = await this.#operatorAccess(ccp, url);
      retry = !access.coderReachable;
      conditions = setCondition(conditions, access.condition, generation);
      status.operatorAccessReady = access.condition.status === 'True';
      if (access.tokenRef) status.operatorTokenSecretRef = access.tokenRef;
      else delete status.operatorTokenSecretRef;
      const ready = access.coderReachable && status.operatorAccessReady;
      status.phase = ready ? 'Ready' : 'Pending';
      conditions = setCondition(
        conditions,
        ready
          ? { type: CONDITION_READY, status: 'True', reason: 'Ready', message: `Coder at ${url} answers and the operator token works` }
          : access.coderReachable
            ? { type: CONDITION_READY, status: 'False', reason: 'OperatorAccessNotReady', message: access.condition.message }
            : { type: CONDITION_READY, status: 'False', reason: 'CoderUnreachable', message: `Coder at ${url} does not answer: ${access.condition.message}` },
        generation,
      );
    }

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
      await this.#objects.replaceNamespacedCustomObjectStatus({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: PLURAL,
        name,
        body: { ...ccp, status },
      });
      this.#o.logger.info('updated CoderControlPlane status', { namespace, name, phase: status.phase, eligible: verdict?.eligible });
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
      return {
        coderReachable: true,
        condition: {
          type,
          status: 'False',
          reason: 'TokenSecretRefRequired',
          message: 'set spec.operatorAccess.tokenSecretRef to a Secret holding a Coder API token (e.g. from `coder tokens create`)',
        },
      };
    }
    const tokenKey = ref.key ?? DEFAULT_TOKEN_KEY;
    const tokenRef = { name: ref.name, key: tokenKey };
    let token = '';
    try {
      const secret = await this.#core.readNamespacedSecret({ name: ref.name, namespace: ccp.metadata.namespace });
      token = Buffer.from(secret.data?.[tokenKey] ?? '', 'base64').toString('utf8').trim();
    } catch (err) {
      if ((err as { code?: number }).code !== 404) throw err;
      return { coderReachable: true, condition: { type, status: 'False', reason: 'TokenSecretNotFound', message: `Secret "${ref.name}" does not exist` } };
    }
    if (!token) {
      return { coderReachable: true, condition: { type, status: 'False', reason: 'TokenEmpty', message: `Secret "${ref.name}" has no value under key "${tokenKey}"` } };
    }
    const coder = new CoderClient({ url, token, timeoutMs: this.#o.coderTimeoutMs, maxRetries: 0 });
    try {
      const me = await coder.getUser('me');
      return {
        coderReachable: true,
        tokenRef,
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

/** Status without condition timestamps, for change detection. */
function normalise(status: CoderControlPlaneStatus): unknown {
  return { ...status, conditions: (status.conditions ?? []).map(({ lastTransitionTime: _t, ...c }) => c) };
}
