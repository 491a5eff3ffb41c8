import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { describeKubeError, isNotFound } from '../kube/errors.ts';
import type { Logger } from '../logging/logger.ts';

export interface LeaderElectionOptions {
  kubeConfig: KubeConfig;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  logger: Logger;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
}

/** MicroTime: RFC 3339 with exactly six fractional digits, as kube-apiserver parses it. */
function micro(date: Date): string {
  return date.toISOString().replace('Z', '000Z');
}

interface LeaseSpec {
  holderIdentity?: string | undefined;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

// Leases go through the generic object API as plain JSON: the typed client turns times into
// JavaScript Dates, which lose MicroTime's microsecond format.
const LEASES = { group: 'coordination.k8s.io', version: 'v1', plural: 'leases' };

/**
 * Lease-based leader election (coordination.k8s.io/v1), as client-go's leaderelection
 * package does it: acquire the Lease when it is free or expired, renew it every retry
 * period, give up leadership when renewals fail past the renew deadline, and release the
 * Lease on stop so the next replica takes over without waiting for expiry.
 */
export class LeaderElector {
  readonly #o: Required<Omit<LeaderElectionOptions, 'onStartedLeading' | 'onStoppedLeading' | 'logger' | 'kubeConfig'>> &
    Pick<LeaderElectionOptions, 'onStartedLeading' | 'onStoppedLeading' | 'logger'>;
  readonly #api: CustomObjectsApi;
  #leading = false;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  #lastRenew = 0;

  constructor(options: LeaderElectionOptions) {
    this.#api = options.kubeConfig.makeApiClient(CustomObjectsApi);
    this.#o = {
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      ...options,
    };
  }

  get leading(): boolean {
    return this.#leading;
  }

  start(): void {
    this.#stopped = false;
    void this.#tick();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    if (!this.#leading) return;
    this.#setLeading(false);
    try {
      const lease = (await this.#api.getNamespacedCustomObject({ ...LEASES, name: this.#o.name, namespace: this.#o.namespace })) as Lease;
      if (lease.spec?.holderIdentity !== this.#o.identity) return;
      lease.spec.holderIdentity = undefined;
      lease.spec.leaseDurationSeconds = 1;
      await this.#api.replaceNamespacedCustomObject({ ...LEASES, name: this.#o.name, namespace: this.#o.namespace, body: lease });
      this.#o.logger.info('released leader lease', { lease: `${this.#o.namespace}/${this.#o.name}` });
    } catch (err) {
      this.#o.logger.warn('could not release leader lease', { error: describeKubeError(err) });
    }
  }

  async #tick(): Promise<void> {
    if (this.#stopped) return;
    try {
      const acquired = await this.#tryAcquireOrRenew();
      if (acquired) this.#lastRenew = Date.now();
      if (acquired && !this.#leading) this.#setLeading(true);
      if (!acquired && this.#leading) this.#setLeading(false);
    } catch (err) {
      this.#o.logger.warn('leader election attempt failed', { error: describeKubeError(err) });
      if (this.#leading && Date.now() - this.#lastRenew > this.#o.renewDeadlineMs) this.#setLeading(false);
    }
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- stop() may have run during the awaits above
    if (!this.#stopped) {
      this.#timer = setTimeout(() => {
        void this.#tick();
      }, this.#o.retryPeriodMs);
    }
  }

  #setLeading(leading: boolean): void {
    this.#leading = leading;
    this.#o.logger.info(leading ? 'became leader' : 'stopped leading', { identity: this.#o.identity, lease: `${this.#o.namespace}/${this.#o.name}` });
    if (leading) this.#o.onStartedLeading();
    else this.#o.onStoppedLeading();
  }

  async #tryAcquireOrRenew(): Promise<boolean> {
    const { name, namespace, identity } = this.#o;
    const now = new Date();
    const spec = (previous?: LeaseSpec): LeaseSpec => ({
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.#o.leaseDurationMs / 1000),
      renewTime: micro(now),
      acquireTime: previous?.holderIdentity === identity && previous.acquireTime ? previous.acquireTime : micro(now),
      leaseTransitions: (previous?.leaseTransitions ?? 0) + (previous?.holderIdentity === identity ? 0 : 1),
    });
    let lease: Lease;
    try {
      lease = (await this.#api.getNamespacedCustomObject({ ...LEASES, name, namespace })) as Lease;
    } catch (err) {
      if (!isNotFound(err)) throw err;
      const body: Lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name, namespace }, spec: { ...spec(), leaseTransitions: 0 } };
      await this.#api.createNamespacedCustomObject({ ...LEASES, namespace, body });
      return true;
    }
    const holder = lease.spec?.holderIdentity;
    const renewed = lease.spec?.renewTime ? new Date(lease.spec.renewTime).getTime() : 0;
    const duration = (lease.spec?.leaseDurationSeconds ?? 15) * 1000;
    if (holder && holder !== identity && renewed + duration > now.getTime()) return false;
    // The resourceVersion in the replaced object makes a racing replica's update fail with 409.
    await this.#api.replaceNamespacedCustomObject({ ...LEASES, name, namespace, body: { ...lease, spec: spec(lease.spec) } });
    return true;
  }
}
