import { Command, InvalidArgumentError, Option } from 'commander';
import { parseGoDuration } from '../util/duration.ts';
import { checkLeaderElectionTiming, type LeaderElectionTiming } from '../controller/leader-election-timing.ts';

export const APP_MODES = ['all', 'controller', 'aggregated-apiserver'] as const;
export type AppMode = (typeof APP_MODES)[number];

export interface Options {
  app: AppMode;
  kubeconfig?: string;
  leaderElect: boolean;
  leaderElectionNamespace?: string;
  leaderElectionId: string;
  leaderElectLeaseDurationMs: number;
  leaderElectRenewDeadlineMs: number;
  leaderElectRetryPeriodMs: number;
  metricsBindAddress: string;
  healthProbeBindAddress: string;
  bindAddress: string;
  securePort: number;
  tlsCertFile?: string;
  tlsPrivateKeyFile?: string;
  servingCertSecret?: string;
  certDir?: string;
  serviceName: string;
  serviceNamespace: string;
  authenticationKubeconfig?: string;
  authorizationKubeconfig?: string;
  clientCaFile?: string;
  requestheaderClientCaFile?: string;
  requestheaderAllowedNames: string[];
  requestheaderUsernameHeaders: string[];
  requestheaderGroupHeaders: string[];
  requestheaderExtraHeadersPrefix: string[];
  logLevel: 'error' | 'warn' | 'info' | 'debug';
  logFormat: 'json' | 'text';
  coderUrl?: string;
  coderSessionToken?: string;
  coderSessionTokenFile?: string;
  coderNamespace?: string;
  coderRequestTimeoutMs: number;
  templateBuildWaitMs: number;
  workspaceBuildWaitMs: number;
  fanoutConcurrency: number;
  watchPollIntervalMs: number;
  watchBookmarkIntervalMs: number;
  watchHistorySize: number;
  watchBufferSize: number;
  minRequestTimeoutMs: number;
  maxRequestBodyBytes: number;
  shutdownGracePeriodMs: number;
  shutdownDelayMs: number;
}

/** Go-style durations ("30s", "1m30s"), as Kubernetes components take them. */
export function durationMs(value: string): number {
  const ms = parseGoDuration(value);
  if (ms === undefined) throw new InvalidArgumentError(`expected a duration such as 30s, 1m or 1m30s, got "${value}"`);
  return ms;
}

function integer(min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}, got "${value}"`);
    return n;
  };
}

function boolean(value: string): boolean {
  if (/^(true|1|yes)$/i.test(value)) return true;
  if (/^(false|0|no)$/i.test(value)) return false;
  throw new InvalidArgumentError(`expected true or false, got "${value}"`);
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
}

function bytes(value: string): number {
  const m = /^(\d+)(Ki|Mi|Gi)?$/.exec(value);
  if (!m) throw new InvalidArgumentError(`expected a byte count such as 6291456 or 6Mi, got "${value}"`);
  const unit = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 }[m[2] ?? ''] ?? 1;
  return Number(m[1]) * unit;
}

/** Every flag has an environment twin: --secure-port ↔ CODER_K8S_SECURE_PORT. */
function envName(flag: string): string {
  return `CODER_K8S_${flag.replace(/-/g, '_').toUpperCase()}`;
}

function opt(flags: string, description: string): Option {
  const long = /--([a-z0-9-]+)/.exec(flags)?.[1] ?? '';
  return new Option(flags, description).env(envName(long));
}

export function buildCommand(): Command {
  return new Command('coder-k8s')
    .description('Kubernetes operator and aggregated API server for Coder.')
    .addOption(opt('--app <mode>', 'what to run').choices(APP_MODES).default('all'))
    .addOption(opt('--kubeconfig <path>', 'kubeconfig for the cluster; also enables delegated authentication and authorization (default: in-cluster when running in a Pod)'))
    .addOption(opt('--leader-elect [enabled]', 'elect a leader among replicas before reconciling').argParser(boolean).preset(true).default(false))
    .addOption(opt('--leader-election-namespace <ns>', 'namespace of the leader election Lease (default: the service namespace)'))
    .addOption(opt('--leader-election-id <name>', 'name of the leader election Lease').default('coder-k8s-leader'))
    .addOption(
      opt('--leader-elect-lease-duration <duration>', 'how long standbys wait, from when they last saw the Lease change, before taking it over')
        .argParser(durationMs)
        .default(15_000, '15s'),
    )
    .addOption(
      opt('--leader-elect-renew-deadline <duration>', 'how long the leader tries to renew the Lease before it stops reconciling')
        .argParser(durationMs)
        .default(10_000, '10s'),
    )
    .addOption(opt('--leader-elect-retry-period <duration>', 'how often the Lease is tried').argParser(durationMs).default(2000, '2s'))
    .addOption(opt('--metrics-bind-address <addr>', 'address of the Prometheus /metrics endpoint; 0 disables').default(':8080'))
    .addOption(opt('--health-probe-bind-address <addr>', 'address of /healthz, /livez and /readyz; 0 disables').default(':8081'))
    .addOption(opt('--bind-address <ip>', 'IP address the aggregated API server listens on').default('0.0.0.0'))
    .addOption(opt('--secure-port <port>', 'HTTPS port of the aggregated API server (0 picks a free port)').argParser(integer(0, 65535)).default(6443))
    .addOption(opt('--tls-cert-file <path>', 'serving certificate (PEM), reloaded when the file changes; self-signed when absent'))
    .addOption(opt('--tls-private-key-file <path>', 'serving private key (PEM)'))
    .addOption(
      opt(
        '--serving-cert-secret <name>',
        'keep the serving CA and certificate in this Secret in --service-namespace: shared by every replica, renewed before expiry, the APIService caBundle kept in sync (needs cluster access; --tls-cert-file wins)',
      ),
    )
    .addOption(opt('--cert-dir <dir>', 'where a self-signed serving certificate and its CA are written (ca.crt is the APIService caBundle)'))
    .addOption(opt('--service-name <name>', 'Service name the serving certificate covers').default('coder-k8s'))
    .addOption(
      opt('--service-namespace <ns>', 'namespace of that Service ($POD_NAMESPACE when set)').default(
        process.env.POD_NAMESPACE ?? 'coder-system',
      ),
    )
    .addOption(opt('--authentication-kubeconfig <path>', 'kubeconfig for TokenReview and the extension-apiserver-authentication ConfigMap'))
    .addOption(opt('--authorization-kubeconfig <path>', 'kubeconfig for SubjectAccessReview'))
    .addOption(opt('--client-ca-file <path>', 'CA bundle that signs x509 client certificates (user = CN, groups = O)'))
    .addOption(opt('--requestheader-client-ca-file <path>', 'CA bundle that signs front-proxy client certificates'))
    .addOption(opt('--requestheader-allowed-names <names>', 'front-proxy certificate common names allowed (comma-separated; empty = any)').argParser(list).default([]))
    .addOption(opt('--requestheader-username-headers <headers>', 'headers carrying the user name').argParser(list).default(['X-Remote-User']))
    .addOption(opt('--requestheader-group-headers <headers>', 'headers carrying groups').argParser(list).default(['X-Remote-Group']))
    .addOption(opt('--requestheader-extra-headers-prefix <prefixes>', 'header prefixes carrying extra user info').argParser(list).default(['X-Remote-Extra-']))
    .addOption(opt('--log-level <level>', 'log level').choices(['error', 'warn', 'info', 'debug']).default('info'))
    .addOption(opt('--log-format <format>', 'log format').choices(['json', 'text']).default('json'))
    .addOption(opt('--coder-url <url>', 'static mode: URL of the one Coder deployment to serve'))
    .addOption(opt('--coder-session-token <token>', 'static mode: Coder API token (prefer --coder-session-token-file or the env var)'))
    .addOption(opt('--coder-session-token-file <path>', 'static mode: file holding the Coder API token'))
    .addOption(opt('--coder-namespace <ns>', 'static mode: the Kubernetes namespace the Coder deployment is served in'))
    .addOption(opt('--coder-request-timeout <duration>', 'deadline of each request to Coder').argParser(durationMs).default(30_000, '30s'))
    .addOption(
      opt('--template-build-wait <duration>', "how long a request waits for a template build before it continues in the background (keep under kube-apiserver's 60s proxy timeout)")
        .argParser(durationMs)
        .default(40_000, '40s'),
    )
    .addOption(
      opt('--workspace-build-wait <duration>', 'how long a request waits on workspace builds (DELETE before answering 202; start/stop behind a running build before answering 409 with Retry-After; create with running: false for the first build before stopping it)')
        .argParser(durationMs)
        .default(20_000, '20s'),
    )
    .addOption(opt('--fanout-concurrency <n>', 'namespaces queried at once by all-namespaces requests').argParser(integer(1, 1024)).default(16))
    .addOption(
      opt('--watch-poll-interval <duration>', 'how often a namespace with open watches is read from Coder for changes made outside Kubernetes (jittered ±20%)')
        .argParser(durationMs)
        .default(5000, '5s'),
    )
    .addOption(
      opt('--watch-bookmark-interval <duration>', 'how often watches that allow bookmarks get a BOOKMARK event')
        .argParser(durationMs)
        .default(60_000, '1m'),
    )
    .addOption(
      opt('--watch-history-size <n>', 'changes kept per namespace and resource for watches that resume from a resourceVersion (older ones get 410 Expired)')
        .argParser(integer(10, 1_000_000))
        .default(2000),
    )
    .addOption(
      opt('--watch-buffer-size <n>', 'changes a watch may fall behind its client; over it, a backlog that stops shrinking for 2s closes the watch (the client lists again; counted in coder_k8s_watch_events_dropped_total)')
        .argParser(integer(1, 1_000_000))
        .default(1000),
    )
    .addOption(
      opt('--min-request-timeout <duration>', 'watches without timeoutSeconds end after between one and two times this; timeoutSeconds is capped at twice this')
        .argParser(durationMs)
        .default(30 * 60_000, '30m'),
    )
    .addOption(opt('--max-request-body-bytes <n>', 'largest request body accepted').argParser(bytes).default(6 * 1024 * 1024, '6Mi'))
    .addOption(
      opt(
        '--shutdown-delay-duration <duration>',
        'after SIGTERM, keep serving (not ready) this long before closing, so endpoints and kube-apiserver stop sending new requests first; a second signal skips the rest',
      )
        .argParser(durationMs)
        .default(0, '0s'),
    )
    .addOption(opt('--shutdown-grace-period <duration>', 'how long in-flight requests may finish after SIGTERM and --shutdown-delay-duration').argParser(durationMs).default(20_000, '20s'))
    .showHelpAfterError('(run coder-k8s --help for usage)')
    .allowExcessArguments(false);
}

interface RawOptions
  extends Omit<
    Options,
    | 'coderRequestTimeoutMs'
    | 'templateBuildWaitMs'
    | 'workspaceBuildWaitMs'
    | 'watchPollIntervalMs'
    | 'watchBookmarkIntervalMs'
    | 'minRequestTimeoutMs'
    | 'maxRequestBodyBytes'
    | 'shutdownGracePeriodMs'
    | 'shutdownDelayMs'
    | 'leaderElectLeaseDurationMs'
    | 'leaderElectRenewDeadlineMs'
    | 'leaderElectRetryPeriodMs'
  > {
  coderRequestTimeout: number;
  templateBuildWait: number;
  workspaceBuildWait: number;
  watchPollInterval: number;
  watchBookmarkInterval: number;
  minRequestTimeout: number;
  maxRequestBodyBytes: number;
  shutdownGracePeriod: number;
  shutdownDelayDuration: number;
  leaderElectLeaseDuration: number;
  leaderElectRenewDeadline: number;
  leaderElectRetryPeriod: number;
}

/** Parses and cross-checks flags; throws an Error whose message says what to fix. */
export function parseOptions(argv: string[]): Options {
  const command = buildCommand().exitOverride();
  command.parse(argv, { from: 'user' });
  const raw = command.opts<RawOptions>();
  const options: Options = {
    ...raw,
    coderRequestTimeoutMs: raw.coderRequestTimeout,
    templateBuildWaitMs: raw.templateBuildWait,
    workspaceBuildWaitMs: raw.workspaceBuildWait,
    watchPollIntervalMs: raw.watchPollInterval,
    watchBookmarkIntervalMs: raw.watchBookmarkInterval,
    minRequestTimeoutMs: raw.minRequestTimeout,
    maxRequestBodyBytes: raw.maxRequestBodyBytes,
    shutdownGracePeriodMs: raw.shutdownGracePeriod,
    shutdownDelayMs: raw.shutdownDelayDuration,
    leaderElectLeaseDurationMs: raw.leaderElectLeaseDuration,
    leaderElectRenewDeadlineMs: raw.leaderElectRenewDeadline,
    leaderElectRetryPeriodMs: raw.leaderElectRetryPeriod,
  };
  validate(options);
  return options;
}

function validate(o: Options): void {
  if (!!o.tlsCertFile !== !!o.tlsPrivateKeyFile) {
    throw new Error('--tls-cert-file and --tls-private-key-file must be given together');
  }
  if (o.templateBuildWaitMs >= 60_000) {
    throw new Error("--template-build-wait must be under 60s: kube-apiserver's proxy gives up on aggregated requests after 60s");
  }
  for (const [flag, ms] of [
    ['--watch-poll-interval', o.watchPollIntervalMs],
    ['--watch-bookmark-interval', o.watchBookmarkIntervalMs],
    ['--min-request-timeout', o.minRequestTimeoutMs],
  ] as const) {
    if (ms < 100) throw new Error(`${flag} must be at least 100ms, got ${ms}ms`);
  }
  const timing = checkLeaderElectionTiming(leaderElectionTiming(o));
  if (timing) throw new Error(timing);
  if (o.coderSessionToken && o.coderSessionTokenFile) {
    throw new Error('--coder-session-token and --coder-session-token-file are mutually exclusive');
  }
  const staticFlags = [o.coderUrl, o.coderSessionToken ?? o.coderSessionTokenFile, o.coderNamespace];
  if (staticFlags.some(Boolean) && !staticFlags.every(Boolean)) {
    const missing = [
      !o.coderUrl && '--coder-url',
      !(o.coderSessionToken ?? o.coderSessionTokenFile) && '--coder-session-token-file (or --coder-session-token)',
      !o.coderNamespace && '--coder-namespace',
    ].filter(Boolean);
    throw new Error(`static mode needs --coder-url, a token and --coder-namespace together; missing ${missing.join(', ')}`);
  }
  if (o.coderUrl) {
    let url: URL;
    try {
      url = new URL(o.coderUrl);
    } catch {
      throw new Error(`--coder-url: not a URL: "${o.coderUrl}"`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`--coder-url: must be http or https, got "${url.protocol}"`);
  }
  if (o.coderNamespace && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(o.coderNamespace)) {
    throw new Error(`--coder-namespace: "${o.coderNamespace}" is not a valid namespace name`);
  }
}

export function leaderElectionTiming(o: Options): LeaderElectionTiming {
  return { leaseDurationMs: o.leaderElectLeaseDurationMs, renewDeadlineMs: o.leaderElectRenewDeadlineMs, retryPeriodMs: o.leaderElectRetryPeriodMs };
}

export function isStaticMode(o: Options): boolean {
  return !!o.coderUrl;
}
