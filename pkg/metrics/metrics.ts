import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const PREFIX = 'coder_k8s_';

/** Every metric the process exports, defined in one place so names and labels stay consistent. */
export interface Metrics {
  readonly registry: Registry;
  readonly apiserverRequests: Counter<'verb' | 'resource' | 'code'>;
  readonly apiserverRequestDuration: Histogram<'verb' | 'resource' | 'code'>;
  readonly apiserverInflight: Gauge;
  readonly apiserverRequestAborts: Counter<'verb' | 'resource'>;
  readonly coderRequests: Counter<'endpoint' | 'code'>;
  readonly coderRequestDuration: Histogram<'endpoint' | 'code'>;
  readonly coderRetries: Counter<'endpoint' | 'reason'>;
  readonly templateBuilds: Counter<'result'>;
  readonly templateBuildWait: Histogram<'result'>;
  readonly authentications: Counter<'method' | 'result'>;
  readonly fanoutDuration: Histogram<'resource' | 'verb'>;
  readonly fanoutNamespaces: Histogram<'resource' | 'verb'>;
  readonly eligibleControlPlanes: Gauge;
  readonly reconcileTotal: Counter<'controller' | 'result'>;
  readonly reconcileErrors: Counter<'controller'>;
  readonly reconcileDuration: Histogram<'controller'>;
  readonly workqueueDepth: Gauge<'name'>;
  readonly leader: Gauge<'lease'>;
  readonly watchers: Gauge<'resource'>;
  readonly watchEventsDropped: Counter<'resource' | 'reason'>;
  readonly watchPollDuration: Histogram<'resource' | 'result'>;
  readonly watchReadCoderRequests: Histogram<'resource'>;
}

export interface MetricsOptions {
  /** Also export Node process and GC metrics (off in tests that build many registries). */
  defaultMetrics?: boolean;
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    apiserverRequests: new Counter({
      name: `${PREFIX}apiserver_requests_total`,
      help: 'Requests served by the aggregated API server, by verb, resource and HTTP code.',
      labelNames: ['verb', 'resource', 'code'] as const,
      registers,
    }),
    apiserverRequestDuration: new Histogram({
      name: `${PREFIX}apiserver_request_duration_seconds`,
      help: 'Latency of requests served by the aggregated API server.',
      labelNames: ['verb', 'resource', 'code'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    }),
    apiserverRequestAborts: new Counter({
      name: `${PREFIX}apiserver_request_aborts_total`,
      help: 'Requests whose client went away before the answer (a hang-up, or kube-apiserver giving up at its timeout), by verb and resource; not counted in apiserver_requests_total.',
      labelNames: ['verb', 'resource'] as const,
      registers,
    }),
    apiserverInflight: new Gauge({
      name: `${PREFIX}apiserver_inflight_requests`,
      help: 'Requests currently being served by the aggregated API server.',
      registers,
    }),
    coderRequests: new Counter({
      name: `${PREFIX}coder_requests_total`,
      help: 'Requests sent to Coder, by endpoint template ("METHOD /api/v2/...") and HTTP code (0 = no answer: network error or timeout; canceled = the request that needed it ended first).',
      labelNames: ['endpoint', 'code'] as const,
      registers,
    }),
    coderRequestDuration: new Histogram({
      name: `${PREFIX}coder_request_duration_seconds`,
      help: 'Latency of requests sent to Coder.',
      labelNames: ['endpoint', 'code'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    coderRetries: new Counter({
      name: `${PREFIX}coder_request_retries_total`,
      help: 'Requests to Coder retried, by endpoint and reason (rate_limited).',
      labelNames: ['endpoint', 'reason'] as const,
      registers,
    }),
    templateBuilds: new Counter({
      name: `${PREFIX}template_builds_total`,
      help: 'Template version builds started by coder-k8s, by outcome (succeeded, failed, canceled, background).',
      labelNames: ['result'] as const,
      registers,
    }),
    templateBuildWait: new Histogram({
      name: `${PREFIX}template_build_wait_seconds`,
      help: 'Time a request waited for a template version build, by outcome.',
      labelNames: ['result'] as const,
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 45, 60],
      registers,
    }),
    authentications: new Counter({
      name: `${PREFIX}apiserver_authentications_total`,
      help: 'Authentication attempts by method (requestheader, x509, token; none when no credentials were presented) and result.',
      labelNames: ['method', 'result'] as const,
      registers,
    }),
    fanoutDuration: new Histogram({
      name: `${PREFIX}fanout_duration_seconds`,
      help: 'Duration of all-namespaces requests fanned out to every eligible namespace.',
      labelNames: ['resource', 'verb'] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    fanoutNamespaces: new Histogram({
      name: `${PREFIX}fanout_namespaces`,
      help: 'Namespaces queried per all-namespaces request.',
      labelNames: ['resource', 'verb'] as const,
      buckets: [0, 1, 2, 5, 10, 20, 50, 100, 200, 500],
      registers,
    }),
    eligibleControlPlanes: new Gauge({
      name: `${PREFIX}eligible_control_planes`,
      help: 'CoderControlPlanes currently serving their namespace.',
      registers,
    }),
    reconcileTotal: new Counter({
      name: `${PREFIX}reconcile_total`,
      help: 'Reconciles by controller and result (success, error, requeue).',
      labelNames: ['controller', 'result'] as const,
      registers,
    }),
    reconcileErrors: new Counter({
      name: `${PREFIX}reconcile_errors_total`,
      help: 'Reconciles that failed, by controller.',
      labelNames: ['controller'] as const,
      registers,
    }),
    reconcileDuration: new Histogram({
      name: `${PREFIX}reconcile_duration_seconds`,
      help: 'Reconcile latency by controller.',
      labelNames: ['controller'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    workqueueDepth: new Gauge({
      name: `${PREFIX}workqueue_depth`,
      help: 'Keys waiting in a controller work queue.',
      labelNames: ['name'] as const,
      registers,
    }),
    leader: new Gauge({
      name: `${PREFIX}leader_election_master_status`,
      help: '1 while this replica holds the leader Lease, else 0.',
      labelNames: ['lease'] as const,
      registers,
    }),
    watchers: new Gauge({
      name: `${PREFIX}watchers`,
      help: 'Open watches, by resource.',
      labelNames: ['resource'] as const,
      registers,
    }),
    watchEventsDropped: new Counter({
      name: `${PREFIX}watch_events_dropped_total`,
      help: 'Changes a watch never sent because it was closed for falling behind (its client lists again), by resource and reason.',
      labelNames: ['resource', 'reason'] as const,
      registers,
    }),
    watchPollDuration: new Histogram({
      name: `${PREFIX}watch_poll_duration_seconds`,
      help: 'Time to read one namespace from Coder for its watches, by resource and result.',
      labelNames: ['resource', 'result'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    watchReadCoderRequests: new Histogram({
      name: `${PREFIX}watch_read_coder_requests`,
      help: 'Coder requests one watch read of a namespace made (pages of workspaces, template versions not cached), by resource.',
      labelNames: ['resource'] as const,
      buckets: [1, 2, 3, 5, 10, 20, 50, 100, 200],
      registers,
    }),
  };
}
