import { readFile } from 'node:fs/promises';
import type { X509Certificate } from 'node:crypto';
import { ClientCertAuthenticator } from '../apiserver/authn/client-cert.ts';
import { RequestHeaderAuthenticator, type RequestHeaderConfig } from '../apiserver/authn/request-header.ts';
import type { Authenticator } from '../apiserver/authn/types.ts';
import { UnionAuthenticator } from '../apiserver/authn/union.ts';
import { parseCertificates } from '../apiserver/authn/x509.ts';
import { AlwaysAllowAuthorizer, type Authorizer } from '../apiserver/authz/types.ts';
import { inCluster } from '../kube/in-cluster.ts';
import type { Logger } from '../logging/logger.ts';
import type { Options } from './options.ts';

export interface Security {
  authenticator: Authenticator;
  authorizer: Authorizer;
  /** False until delegated configuration has been read. */
  ready: () => boolean;
  stop(): Promise<void>;
}

async function readCAs(path: string | undefined, flag: string): Promise<X509Certificate[]> {
  if (!path) return [];
  const certs = parseCertificates(await readFile(path, 'utf8'));
  if (certs.length === 0) throw new Error(`${flag}: no PEM certificates in ${path}`);
  return certs;
}

/**
 * Authentication and authorization as a Kubernetes extension API server does them:
 * CA files from flags, and — when a kubeconfig is available — the cluster's
 * extension-apiserver-authentication ConfigMap (watched), TokenReview for bearer tokens and
 * SubjectAccessReview for every request. Flags win over the ConfigMap where both are set.
 */
export async function buildSecurity(o: Options, logger: Logger): Promise<Security> {
  const clientCAs = await readCAs(o.clientCaFile, '--client-ca-file');
  const requestHeaderCAs = await readCAs(o.requestheaderClientCaFile, '--requestheader-client-ca-file');
  const flagRequestHeader: RequestHeaderConfig | undefined =
    requestHeaderCAs.length > 0
      ? {
          roots: requestHeaderCAs,
          allowedNames: o.requestheaderAllowedNames,
          usernameHeaders: o.requestheaderUsernameHeaders,
          groupHeaders: o.requestheaderGroupHeaders,
          extraHeaderPrefixes: o.requestheaderExtraHeadersPrefix,
        }
      : undefined;

  const authnKubeconfig = o.authenticationKubeconfig ?? o.kubeconfig;
  const authzKubeconfig = o.authorizationKubeconfig ?? o.kubeconfig;
  const stops: (() => Promise<void>)[] = [];
  let ready = () => true;
  let authenticator: Authenticator;

  if (authnKubeconfig || inCluster()) {
    // Loaded only when delegating: they bring in @kubernetes/client-node.
    const [{ AuthenticationConfigWatcher }, { TokenReviewAuthenticator }, { loadKubeConfig }] = await Promise.all([
      import('../apiserver/authn/delegated-config.ts'),
      import('../apiserver/authn/token-review.ts'),
      import('../kube/kubeconfig.ts'),
    ]);
    const kc = loadKubeConfig(authnKubeconfig);
    const watcher = new AuthenticationConfigWatcher(kc, logger.child({ component: 'authn-config' }));
    await watcher.start(10_000);
    stops.push(() => watcher.stop());
    ready = () => watcher.loaded;
    authenticator = new UnionAuthenticator([
      new RequestHeaderAuthenticator(() => flagRequestHeader ?? watcher.config.requestHeader),
      new ClientCertAuthenticator(() => (clientCAs.length > 0 ? clientCAs : watcher.config.clientCAs)),
      new TokenReviewAuthenticator(kc, { logger: logger.child({ component: 'tokenreview' }) }),
    ]);
    logger.info('delegated authentication enabled', { kubeconfig: authnKubeconfig ?? 'in-cluster' });
  } else {
    if (clientCAs.length === 0 && !flagRequestHeader) {
      throw new Error(
        'no way to authenticate clients: give --authentication-kubeconfig (or --kubeconfig, or run in a cluster) for delegated authentication, or --client-ca-file / --requestheader-client-ca-file',
      );
    }
    authenticator = new UnionAuthenticator([
      new RequestHeaderAuthenticator(() => flagRequestHeader),
      new ClientCertAuthenticator(() => clientCAs),
    ]);
  }

  let authorizer: Authorizer;
  if (authzKubeconfig || inCluster()) {
    const [{ SubjectAccessReviewAuthorizer }, { loadKubeConfig }] = await Promise.all([
      import('../apiserver/authz/subject-access-review.ts'),
      import('../kube/kubeconfig.ts'),
    ]);
    authorizer = new SubjectAccessReviewAuthorizer(loadKubeConfig(authzKubeconfig), { logger: logger.child({ component: 'authz' }) });
    logger.info('delegated authorization enabled', { kubeconfig: authzKubeconfig ?? 'in-cluster' });
  } else {
    authorizer = new AlwaysAllowAuthorizer();
    logger.warn('no authorization kubeconfig: every authenticated user may do everything');
  }

  return {
    authenticator,
    authorizer,
    ready,
    stop: async () => {
      await Promise.all(stops.map((s) => s()));
    },
  };
}
