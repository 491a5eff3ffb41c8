import { createHash } from 'node:crypto';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { CoderControlPlaneStatus } from '../../api/coder/v1alpha1/schema.ts';
import { CONDITION_LICENSE_APPLIED, type CoderControlPlane } from '../../api/coder/v1alpha1/types.ts';
import { CoderClient } from '../../coder/client.ts';
import { isCoderApiError } from '../../coder/errors.ts';
import type { Entitlements } from '../../coder/types.ts';
import { readSecret, secretValue } from '../../kube/secrets.ts';
import type { ConditionInput } from '../conditions.ts';

export interface LicenseOutcome {
  condition: ConditionInput;
  /** Status fields to set (license and entitlement facts). */
  status: Partial<CoderControlPlaneStatus>;
}

const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

/**
 * Uploads spec.licenseSecretRef's license when its content changed (tracked by hash in
 * status, so it is uploaded once per change) and records the entitlements Coder reports.
 */
export class LicenseReconciler {
  readonly #core: CoreV1Api;
  readonly #timeoutMs: number;

  constructor(kubeConfig: KubeConfig, timeoutMs: number) {
    this.#core = kubeConfig.makeApiClient(CoreV1Api);
    this.#timeoutMs = timeoutMs;
  }

  async reconcile(ccp: CoderControlPlane, url: string, token: string): Promise<LicenseOutcome> {
    const type = CONDITION_LICENSE_APPLIED;
    const current = ccp.status ?? {};
    const status: Partial<CoderControlPlaneStatus> = {};
    const coder = new CoderClient({ url, token, timeoutMs: this.#timeoutMs, maxRetries: 0 });
    try {
      const ref = ccp.spec.licenseSecretRef;
      let entitlements = await editionEntitlements(coder);
      if (!entitlements) {
        const message = `Coder at ${url} has no licensing (an AGPL build: it does not serve /api/v2/entitlements)`;
        if (current.licenseTier !== 'none' || current.externalProvisionerDaemonsEntitlement !== 'not_entitled') {
          Object.assign(status, { licenseTier: 'none', externalProvisionerDaemonsEntitlement: 'not_entitled', entitlementsLastChecked: now() });
        }
        return {
          condition: {
            type,
            status: 'False',
            reason: 'LicensingNotSupported',
            message: ref ? `${message}; the license in Secret "${ref.name}" cannot be applied` : message,
          },
          status,
        };
      }
      let condition: ConditionInput = { type, status: 'False', reason: 'NotConfigured', message: 'spec.licenseSecretRef is not set' };
      if (ref) {
        const key = ref.key ?? 'license';
        const license = secretValue(await readSecret(this.#core, ccp.metadata.namespace, ref.name), key);
        const hash = createHash('sha256').update(license).digest('hex');
        if (!license) {
          condition = { type, status: 'False', reason: 'LicenseSecretMissing', message: `Secret "${ref.name}" key "${key}" is missing or empty` };
        } else if (hash === current.licenseLastAppliedHash) {
          condition = { type, status: 'True', reason: 'Applied', message: 'the license in the Secret is applied' };
        } else {
          const uploaded = await coder.uploadLicense(license).then(
            () => true,
            (err: unknown) => {
              if (!isCoderApiError(err) || err.statusCode === 0 || err.statusCode >= 500) throw err;
              condition = { type, status: 'False', reason: 'LicenseRejected', message: `Coder rejected the license: ${err.describe()}` };
              return false;
            },
          );
          if (uploaded) {
            status.licenseLastApplied = now();
            status.licenseLastAppliedHash = hash;
            condition = { type, status: 'True', reason: 'Applied', message: 'uploaded the license from the Secret' };
            // What the new license entitles. If Coder cannot say now, the next pass reads it:
            // the upload itself is recorded either way, so it is not repeated.
            const before = entitlements;
            entitlements = await coder.entitlements().catch(() => before);
          }
        }
      }
      const features = entitlements.features;
      const tier = !entitlements.has_license
        ? 'none'
        : features.multiple_organizations?.entitlement === 'entitled'
          ? 'premium'
          : 'enterprise';
      const provisioners = features.external_provisioner_daemons?.entitlement ?? 'not_entitled';
      if (tier !== current.licenseTier || provisioners !== current.externalProvisionerDaemonsEntitlement || status.licenseLastApplied) {
        status.licenseTier = tier;
        status.externalProvisionerDaemonsEntitlement = provisioners;
        status.entitlementsLastChecked = now();
      }
      return { condition, status };
    } finally {
      await coder.close();
    }
  }
}

/**
 * Coder's entitlements, or undefined for an edition without licensing: an AGPL build does not
 * serve the route (404 "Route not found."), where an enterprise build without a license
 * answers with every feature not_entitled.
 */
async function editionEntitlements(coder: CoderClient): Promise<Entitlements | undefined> {
  try {
    return await coder.entitlements();
  } catch (err) {
    if (isCoderApiError(err) && err.statusCode === 404) return undefined;
    throw err;
  }
}
