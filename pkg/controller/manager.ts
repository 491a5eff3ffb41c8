import { hostname } from 'node:os';
import { CustomObjectsApi, type KubeConfig, type KubernetesListObject } from '@kubernetes/client-node';
import { GROUP, VERSION } from '../api/coder/v1alpha1/resources.ts';
import type { CoderControlPlane } from '../api/coder/v1alpha1/types.ts';
import type { CoderClientObserver } from '../coder/client.ts';
import { EligibilityCache } from '../eligibility/cache.ts';
import { EventRecorder, kubeEventSink } from '../kube/events.ts';
import { ResilientInformer } from '../kube/informer.ts';
import type { Logger } from '../logging/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { OWNED_SELECTOR, controlPlaneOwnedKinds, ownerKey } from './controlplane/owned-kinds.ts';
import { ControlPlaneReconciler } from './controlplane/reconciler.ts';
import { Controller } from './controller.ts';
import { OwnedObjects } from './owned.ts';
import { specOrMetadataChanged } from './predicates.ts';
import type { LeaderElectionTiming } from './leader-election-timing.ts';
import { LeaderElector } from './leader-election.ts';
import { KubeLeaseLock } from './lease-lock.ts';

export interface ManagerOptions {
  kubeConfig: KubeConfig;
  logger: Logger;
  metrics: Metrics;
  /** Run reconcilers (controller and all modes); false serves the eligibility cache only. */
  reconcile: boolean;
  leaderElection?: { namespace: string; name: string; timing: LeaderElectionTiming };
  coderTimeoutMs: number;
  coderObserver?: CoderClientObserver;
  syncTimeoutMs?: number;
}

/**
 * controller-runtime's manager, small: shared informers, the eligibility cache fed by them,
 * and the reconcilers, which run only while this replica leads (when leader election is on).
 * Ready once the informers have synced.
 */
export class Manager {
  readonly eligibility: EligibilityCache;
  readonly #o: ManagerOptions;
  readonly #controlPlanes: ResilientInformer<CoderControlPlane>;
  readonly #controller: Controller | undefined;
  readonly #elector: LeaderElector | undefined;
  readonly #owned: OwnedObjects | undefined;
  readonly #events: EventRecorder | undefined;

  constructor(options: ManagerOptions) {
    this.#o = options;
    const objects = options.kubeConfig.makeApiClient(CustomObjectsApi);
    this.#controlPlanes = new ResilientInformer<CoderControlPlane>({
      kubeConfig: options.kubeConfig,
      path: `/apis/${GROUP}/${VERSION}/codercontrolplanes`,
      list: async () => (await objects.listClusterCustomObject({ group: GROUP, version: VERSION, plural: 'codercontrolplanes' })) as KubernetesListObject<CoderControlPlane>,
      logger: options.logger.child({ informer: 'codercontrolplanes' }),
    });
    let enqueue = (_key: string): void => undefined;
    this.eligibility = new EligibilityCache({
      kubeConfig: options.kubeConfig,
      controlPlanes: this.#controlPlanes,
      logger: options.logger.child({ component: 'eligibility' }),
      metrics: options.metrics,
      coderTimeoutMs: options.coderTimeoutMs,
      ...(options.coderObserver ? { coderObserver: options.coderObserver } : {}),
      onVerdictChange: (namespace, name) => {
        enqueue(`${namespace}/${name}`);
      },
    });
    if (!options.reconcile) return;

    // Events and the Lease name this replica alike.
    const identity = `${hostname()}_${process.pid}`;
    this.#events = new EventRecorder({
      sink: kubeEventSink(options.kubeConfig),
      reportingController: 'coder-k8s',
      reportingInstance: identity,
      logger: options.logger.child({ component: 'events' }),
    });
    const reconciler = new ControlPlaneReconciler({
      kubeConfig: options.kubeConfig,
      controlPlanes: this.#controlPlanes,
      eligibility: this.eligibility,
      logger: options.logger.child({ controller: 'codercontrolplane' }),
      coderTimeoutMs: options.coderTimeoutMs,
      events: this.#events,
    });
    const controller = new Controller({
      name: 'codercontrolplane',
      reconcile: (key) => reconciler.reconcile(key),
      logger: options.logger,
      metrics: options.metrics,
    });
    this.#controller = controller;
    enqueue = (key) => {
      controller.enqueue(key);
    };
    // Status-only updates (our own status writes among them) start no pass; eligibility
    // verdict changes enqueue through onVerdictChange above.
    this.#controlPlanes.addHandler({
      onUpsert: (ccp, previous) => {
        if (specOrMetadataChanged(previous, ccp)) enqueue(`${ccp.metadata.namespace}/${ccp.metadata.name}`);
      },
    });
    // Owned objects: drift (an edit, a delete) requeues the owning control plane at once;
    // the Deployment's status also reports readiness.
    this.#owned = new OwnedObjects({
      kubeConfig: options.kubeConfig,
      kinds: controlPlaneOwnedKinds(options.kubeConfig),
      labelSelector: OWNED_SELECTOR,
      owner: ownerKey,
      enqueue: (key) => {
        enqueue(key);
      },
      logger: options.logger,
    });
    if (options.leaderElection) {
      const { namespace, name, timing } = options.leaderElection;
      this.#elector = new LeaderElector({
        lock: new KubeLeaseLock(options.kubeConfig, namespace, name),
        ...timing,
        identity,
        logger: options.logger.child({ component: 'leader-election' }),
        onStartedLeading: () => {
          options.metrics.leader.set({ lease: name }, 1);
          controller.start();
          for (const ccp of this.#controlPlanes.list()) enqueue(`${ccp.metadata.namespace}/${ccp.metadata.name}`);
        },
        // Reconcilers stop at once; the informers, the eligibility cache and the API server
        // keep running, and the replica campaigns again with a fresh queue.
        onStoppedLeading: async () => {
          options.metrics.leader.set({ lease: name }, 0);
          await controller.stop();
        },
      });
    }
  }

  get synced(): boolean {
    return this.#controlPlanes.synced && (this.#owned?.synced ?? true) && this.eligibility.synced;
  }

  async start(): Promise<void> {
    await this.#controlPlanes.start();
    await this.#owned?.start();
    if (!(await this.#controlPlanes.waitForSync(this.#o.syncTimeoutMs ?? 60_000))) {
      this.#o.logger.warn('CoderControlPlane informer has not synced yet; readiness waits for it');
    }
    if (this.#elector) this.#elector.start();
    else this.#controller?.start();
  }

  /** Stops the reconcilers and releases the Lease; informers and the eligibility cache keep serving. */
  async stopReconciling(): Promise<void> {
    await this.#elector?.stop();
    await this.#controller?.stop();
  }

  async stop(): Promise<void> {
    await this.stopReconciling();
    await this.#controlPlanes.stop();
    await this.#owned?.stop();
    await this.#events?.stop();
    await this.eligibility.stop();
  }
}
