import { CustomObjectsApi, Observable, type KubeConfig, type ObservableMiddleware } from '@kubernetes/client-node';
import { isNotFound } from '../kube/errors.ts';

/** The Lease's spec, the leader election record (client-go's LeaderElectionRecord). */
export interface LeaseRecord {
  holderIdentity?: string | undefined;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface ObservedLease {
  record: LeaseRecord;
  resourceVersion: string;
}

/**
 * Where the election record lives (client-go's resourcelock.Interface). Every call takes a
 * signal: a request that hangs must not hold the elector past its deadlines. An update
 * carries the resourceVersion it read, so a racing replica's write fails with 409.
 */
export interface LeaseLock {
  readonly description: string;
  get(signal: AbortSignal): Promise<ObservedLease | undefined>;
  create(record: LeaseRecord, signal: AbortSignal): Promise<void>;
  update(record: LeaseRecord, resourceVersion: string, signal: AbortSignal): Promise<void>;
}

interface Lease {
  apiVersion: 'coordination.k8s.io/v1';
  kind: 'Lease';
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: LeaseRecord;
}

// Leases go through the generic object API as plain JSON: the typed client turns times into
// JavaScript Dates, which lose MicroTime's microsecond format.
const LEASES = { group: 'coordination.k8s.io', version: 'v1', plural: 'leases' };

/** Hands the signal to client-node's fetch, which aborts the request and its body. */
function withSignal(signal: AbortSignal) {
  const middleware: ObservableMiddleware = {
    pre: (context) => {
      context.setSignal(signal);
      return new Observable(Promise.resolve(context));
    },
    post: (context) => new Observable(Promise.resolve(context)),
  };
  return { middleware: [middleware], middlewareMergeStrategy: 'append' as const };
}

/** A coordination.k8s.io/v1 Lease as the lock. */
export class KubeLeaseLock implements LeaseLock {
  readonly description: string;
  readonly #api: CustomObjectsApi;
  readonly #namespace: string;
  readonly #name: string;

  constructor(kubeConfig: KubeConfig, namespace: string, name: string) {
    this.#api = kubeConfig.makeApiClient(CustomObjectsApi);
    this.#namespace = namespace;
    this.#name = name;
    this.description = `${namespace}/${name}`;
  }

  async get(signal: AbortSignal): Promise<ObservedLease | undefined> {
    try {
      const lease = (await this.#api.getNamespacedCustomObject({ ...LEASES, namespace: this.#namespace, name: this.#name }, withSignal(signal))) as Lease;
      return { record: lease.spec ?? {}, resourceVersion: lease.metadata.resourceVersion ?? '' };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async create(record: LeaseRecord, signal: AbortSignal): Promise<void> {
    const body: Lease = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.#name, namespace: this.#namespace }, spec: record };
    await this.#api.createNamespacedCustomObject({ ...LEASES, namespace: this.#namespace, body }, withSignal(signal));
  }

  async update(record: LeaseRecord, resourceVersion: string, signal: AbortSignal): Promise<void> {
    const body: Lease = {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: this.#name, namespace: this.#namespace, resourceVersion },
      spec: record,
    };
    await this.#api.replaceNamespacedCustomObject({ ...LEASES, namespace: this.#namespace, name: this.#name, body }, withSignal(signal));
  }
}
