import { createHash } from 'node:crypto';
import { CoreV1Api, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import type { CoderControlPlane } from '../api/coder/v1alpha1/types.ts';
import { badRequest, serviceUnavailable } from '../api/meta/status-error.ts';
import type { BackendResolver } from '../apiserver/backends.ts';
import { CoderClient, type CoderClientObserver } from '../coder/client.ts';
import { ResilientInformer } from '../kube/informer.ts';
import type { Logger } from '../logging/logger.ts';
import type { Metrics } from '../metrics/metrics.ts';
import type { Backend } from '../storage/context.ts';
import { resolveNamespace, type TokenLookup, type Verdict } from './rules.ts';

interface Entry {
  ccp: string;
  url: string;
  tokenHash: string;
  client: CoderClient;
}

export interface EligibilityCacheOptions {
  kubeConfig: KubeConfig;
  controlPlanes: ResilientInformer<CoderControlPlane>;
  logger: Logger;
  metrics: Metrics;
  coderTimeoutMs: number;
  coderObserver?: CoderClientObserver;
  /** Called with namespace/name of control planes whose verdict changed (to update their Eligible condition). */
  onVerdictChange?: (namespace: string, name: string) => void;
}

const key = (namespace: string, name: string) => `${namespace}/${name}`;

/**
 * How long a replaced Coder client keeps working before it is closed: requests that
 * resolved it just before a token renewal or URL change make several Coder calls, and
 * none may fail on a closed client. (Background work asks for the current client.)
 */
const DRAIN_MS = 5 * 60_000;
/** A token Secret not listed by then stops holding readiness back (its control plane reports OperatorTokenPending). */
const SECRET_SYNC_GRACE_MS = 30_000;

/**
 * Namespace → the Coder deployment serving it, kept current from informer events on
 * CoderControlPlanes and on the token Secrets their status references. Requests resolve
 * from memory: no listing of control planes and no Secret reads per request. One Coder
 * client per control plane, replaced when its URL or token changes.
 */
export class EligibilityCache implements BackendResolver {
  readonly #o: EligibilityCacheOptions;
  readonly #core: CoreV1Api;
  readonly #secretInformers = new Map<string, ResilientInformer<V1Secret>>();
  readonly #tokens = new Map<string, Map<string, string>>();
  /** Secret informer key → when it was started. */
  readonly #secretsSince = new Map<string, number>();
  /** Replaced clients, closed after DRAIN_MS (or at stop). */
  readonly #draining = new Map<CoderClient, NodeJS.Timeout>();
  #backends = new Map<string, Entry>();
  #ambiguous = new Map<string, string[]>();
  /** Namespaces whose control planes all fail eligibility → why, one line per control plane. */
  #ineligible = new Map<string, string>();
  #verdicts = new Map<string, Verdict>();

  constructor(options: EligibilityCacheOptions) {
    this.#o = options;
    this.#core = options.kubeConfig.makeApiClient(CoreV1Api);
    options.controlPlanes.addHandler({
      onUpsert: () => {
        this.#recompute();
      },
      onDelete: () => {
        this.#recompute();
      },
    });
  }

  resolve(namespace: string): Backend | undefined {
    const entry = this.#backends.get(namespace);
    if (entry) return { namespace, url: entry.url, coder: entry.client };
    const conflicting = this.#ambiguous.get(namespace);
    if (conflicting) {
      throw badRequest(
        `namespace "${namespace}" has more than one eligible CoderControlPlane (${conflicting.join(', ')}); keep one, or disable operator access on the others`,
      );
    }
    const why = this.#ineligible.get(namespace);
    if (why !== undefined) throw serviceUnavailable(`no eligible CoderControlPlane serves namespace "${namespace}": ${why}`);
    return undefined;
  }

  unservedMessage(namespace: string): string {
    return `no Coder deployment serves namespace "${namespace}": it has no CoderControlPlane; create one there to serve Coder objects in it`;
  }

  /**
   * Every referenced token Secret has been listed, or has been waited for long enough: one
   * Secret that cannot be listed must not keep every replica unready.
   */
  get synced(): boolean {
    const now = Date.now();
    return [...this.#secretInformers].every(([k, i]) => i.synced || now - (this.#secretsSince.get(k) ?? now) > SECRET_SYNC_GRACE_MS);
  }

  namespaces(): string[] {
    return [...this.#backends.keys()].sort();
  }

  /** The last verdict for a control plane (the reconciler turns it into the Eligible condition). */
  verdict(namespace: string, name: string): Verdict | undefined {
    return this.#verdicts.get(key(namespace, name));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.#secretInformers.values()].map((i) => i.stop()));
    for (const [client, timer] of this.#draining) {
      clearTimeout(timer);
      await client.close();
    }
    this.#draining.clear();
    for (const entry of this.#backends.values()) await entry.client.close();
  }

  #token: TokenLookup = (namespace, name, tokenKey) => {
    const informer = this.#secretInformers.get(key(namespace, name));
    if (!informer?.synced) return undefined;
    const data = this.#tokens.get(key(namespace, name));
    if (!data) return null;
    return data.get(tokenKey) ?? '';
  };

  #recompute(): void {
    const all = this.#o.controlPlanes.list();
    this.#watchReferencedSecrets(all);
    const byNamespace = new Map<string, CoderControlPlane[]>();
    for (const ccp of all) {
      const list = byNamespace.get(ccp.metadata.namespace) ?? [];
      list.push(ccp);
      byNamespace.set(ccp.metadata.namespace, list);
    }
    const backends = new Map<string, Entry>();
    const ambiguous = new Map<string, string[]>();
    const ineligible = new Map<string, string>();
    const verdicts = new Map<string, Verdict>();
    for (const [namespace, ccps] of byNamespace) {
      const result = resolveNamespace(ccps, this.#token);
      for (const [name, verdict] of result) verdicts.set(key(namespace, name), verdict);
      const conflicting = [...result.entries()].filter(([, v]) => v.reason === 'Conflict').map(([n]) => n);
      if (conflicting.length > 0) ambiguous.set(namespace, conflicting);
      const winner = ccps.find((c) => result.get(c.metadata.name)?.eligible);
      const previous = this.#backends.get(namespace);
      if (winner) backends.set(namespace, this.#entryFor(winner));
      else if (previous && result.get(previous.ccp)?.reason === 'OperatorTokenPending') {
        // Its token Secret is being re-read (a new informer): keep serving with the last token.
        backends.set(namespace, previous);
      } else if (conflicting.length === 0) {
        const reasons = [...result.entries()].map(([name, v]) => `CoderControlPlane "${name}": ${v.reason}: ${v.message}`);
        ineligible.set(namespace, reasons.sort().join('; '));
      }
    }
    const kept = new Set([...backends.values()].map((e) => e.client));
    for (const old of this.#backends.values()) {
      if (!kept.has(old.client) && !this.#draining.has(old.client)) this.#drain(old.client);
    }
    const changed = [...new Set([...verdicts.keys(), ...this.#verdicts.keys()])].filter(
      (k) => JSON.stringify(verdicts.get(k)) !== JSON.stringify(this.#verdicts.get(k)),
    );
    this.#backends = backends;
    this.#ambiguous = ambiguous;
    this.#ineligible = ineligible;
    this.#verdicts = verdicts;
    this.#o.metrics.eligibleControlPlanes.set(backends.size);
    for (const k of changed) {
      const [namespace = '', name = ''] = k.split('/');
      this.#o.logger.info('eligibility changed', { namespace, name, ...verdicts.get(k) });
      this.#o.onVerdictChange?.(namespace, name);
    }
  }

  #drain(client: CoderClient): void {
    const timer = setTimeout(() => {
      this.#draining.delete(client);
      void client.close();
    }, DRAIN_MS);
    timer.unref();
    this.#draining.set(client, timer);
  }

  #entryFor(ccp: CoderControlPlane): Entry {
    const namespace = ccp.metadata.namespace;
    const ref = ccp.status?.operatorTokenSecretRef;
    const token = (ref && this.#token(namespace, ref.name, ref.key ?? 'token')) || '';
    const url = ccp.status?.url ?? '';
    const tokenHash = createHash('sha256').update(token).digest('hex');
    const existing = this.#backends.get(namespace);
    if (existing && existing.ccp === ccp.metadata.name && existing.url === url && existing.tokenHash === tokenHash) return existing;
    return {
      ccp: ccp.metadata.name,
      url,
      tokenHash,
      client: new CoderClient({
        url,
        token,
        timeoutMs: this.#o.coderTimeoutMs,
        ...(this.#o.coderObserver ? { observer: this.#o.coderObserver } : {}),
      }),
    };
  }

  /** One tiny informer per referenced token Secret (field-selected by name). */
  #watchReferencedSecrets(all: readonly CoderControlPlane[]): void {
    const wanted = new Set<string>();
    for (const ccp of all) {
      const ref = ccp.status?.operatorTokenSecretRef;
      if (ref?.name) wanted.add(key(ccp.metadata.namespace, ref.name));
    }
    for (const [k, informer] of this.#secretInformers) {
      if (!wanted.has(k)) {
        void informer.stop();
        this.#secretInformers.delete(k);
        this.#secretsSince.delete(k);
        this.#tokens.delete(k);
      }
    }
    for (const k of wanted) {
      if (this.#secretInformers.has(k)) continue;
      const [namespace = '', name = ''] = k.split('/');
      const fieldSelector = `metadata.name=${name}`;
      const informer = new ResilientInformer<V1Secret>({
        kubeConfig: this.#o.kubeConfig,
        path: `/api/v1/namespaces/${namespace}/secrets`,
        list: () => this.#core.listNamespacedSecret({ namespace, fieldSelector }),
        fieldSelector,
        logger: this.#o.logger,
      });
      informer.addHandler({
        onUpsert: (secret) => {
          const data = new Map<string, string>();
          for (const [dk, dv] of Object.entries(secret.data ?? {})) data.set(dk, Buffer.from(dv, 'base64').toString('utf8').trim());
          this.#tokens.set(k, data);
          this.#recompute();
        },
        onDelete: () => {
          this.#tokens.delete(k);
          this.#recompute();
        },
      });
      this.#secretInformers.set(k, informer);
      this.#secretsSince.set(k, Date.now());
      void informer.start();
      // A Secret that does not exist produces no event; recompute once its list has synced.
      void informer.waitForSync(30_000).then(() => {
        this.#recompute();
      });
    }
  }
}
