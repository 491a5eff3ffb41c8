import { randomBytes } from 'node:crypto';
import { CoreV1Api, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import { DEFAULT_TOKEN_KEY, type CoderControlPlane } from '../../api/coder/v1alpha1/types.ts';
import { CoderClient } from '../../coder/client.ts';
import { isCoderApiError } from '../../coder/errors.ts';
import { readSecret, secretValue } from '../../kube/secrets.ts';
import type { Logger } from '../../logging/logger.ts';
import { isConflict } from '../../kube/errors.ts';

export const OPERATOR_USERNAME = 'coder-k8s-operator';
const ANNOTATION_EXPIRES = 'coder.com/token-expires-at';
/** Renew a bootstrapped token when less than this share of its lifetime is left. */
const RENEW_FRACTION = 0.3;

export type BootstrapResult =
  | {
      ok: true;
      secretName: string;
      username: string;
      token: string;
      /** Set when this call created the token (for events): why, and until when it lasts. */
      issued?: { renewed: boolean; why: string; expiresAt: string };
      /** Set when this call created Coder's first user: its name and the Secret with its credentials. */
      firstUser?: { username: string; secretName: string };
    }
  | { ok: false; reason: string; message: string };


/**
 * Operator access through Coder's public REST API (PRODUCT.md §3, option 2): a dedicated
 * `coder-k8s-operator` user with the owner role and an API token stored in
 * `<name>-operator-token`. Admin credentials come from `<name>-admin-credentials`
 * (keys email, password); on a fresh deployment the first user is created with generated
 * credentials, which are kept in that Secret. Tokens are renewed before they expire
 * (Coder caps owners' tokens, 7 days by default).
 */
export class OperatorBootstrap {
  readonly #core: CoreV1Api;
  readonly #logger: Logger;
  readonly #timeoutMs: number;

  constructor(kubeConfig: KubeConfig, logger: Logger, timeoutMs: number) {
    this.#core = kubeConfig.makeApiClient(CoreV1Api);
    this.#logger = logger;
    this.#timeoutMs = timeoutMs;
  }

  tokenSecretName(ccp: CoderControlPlane): string {
    return ccp.spec.operatorAccess?.generatedTokenSecretName ?? `${ccp.metadata.name}-operator-token`;
  }

  async ensure(ccp: CoderControlPlane, url: string): Promise<BootstrapResult> {
    const namespace = ccp.metadata.namespace;
    const secretName = this.tokenSecretName(ccp);
    const existing = await this.#read(namespace, secretName);
    const token = secretValue(existing, DEFAULT_TOKEN_KEY);
    const expiring = this.#expiring(existing);
    if (token && !expiring) {
      const me = await this.#whoami(url, token);
      if (me) return { ok: true, secretName, username: me, token };
    }

    const session = await this.#adminSession(ccp, url);
    if (!session.ok) return session;
    const firstUser = session.firstUser ? { firstUser: session.firstUser } : {};
    const admin = new CoderClient({ url, token: session.token, timeoutMs: this.#timeoutMs, maxRetries: 0 });
    try {
      const operator = await this.#operatorUser(admin);
      const config = await admin.tokenConfig(operator);
      const lifetimeNs = Math.min(config.max_token_lifetime, 365 * 24 * 3600 * 1e9);
      const { key } = await admin.createToken(operator, { lifetime: lifetimeNs, token_name: `coder-k8s-${Date.now().toString(36)}` });
      const expiresAt = new Date(Date.now() + lifetimeNs / 1e6).toISOString();
      await this.#write(ccp, secretName, { [DEFAULT_TOKEN_KEY]: key }, { [ANNOTATION_EXPIRES]: expiresAt });
      this.#logger.info('bootstrapped operator access', { namespace, name: ccp.metadata.name, secret: secretName, expiresAt });
      const why = expiring ? 'the previous token was near its expiry' : 'Coder refused the previous token';
      return { ok: true, secretName, username: operator, token: key, issued: { renewed: !!token, why, expiresAt }, ...firstUser };
    } finally {
      await admin.close();
    }
  }

  #expiring(secret: V1Secret | undefined): boolean {
    const expires = Date.parse(secret?.metadata?.annotations?.[ANNOTATION_EXPIRES] ?? '');
    const created = secret?.metadata?.creationTimestamp ? new Date(secret.metadata.creationTimestamp).getTime() : Date.now();
    if (Number.isNaN(expires)) return false;
    return expires - Date.now() < (expires - created) * RENEW_FRACTION;
  }

  async #whoami(url: string, token: string): Promise<string | undefined> {
    const coder = new CoderClient({ url, token, timeoutMs: this.#timeoutMs, maxRetries: 0 });
    try {
      return (await coder.getUser('me')).username;
    } catch (err) {
      if (isCoderApiError(err) && (err.statusCode === 401 || err.statusCode === 403)) return undefined;
      throw err;
    } finally {
      await coder.close();
    }
  }

  async #adminSession(
    ccp: CoderControlPlane,
    url: string,
  ): Promise<{ ok: true; token: string; firstUser?: { username: string; secretName: string } } | { ok: false; reason: string; message: string }> {
    const namespace = ccp.metadata.namespace;
    const credentialsName = `${ccp.metadata.name}-admin-credentials`;
    const anonymous = new CoderClient({ url, token: '', timeoutMs: this.#timeoutMs, maxRetries: 0 });
    try {
      let credentials = await this.#read(namespace, credentialsName);
      let firstUser: { username: string; secretName: string } | undefined;
      if (!(await anonymous.hasFirstUser())) {
        const email = 'admin@coder-k8s.local';
        const password = `${randomBytes(18).toString('base64url')}-Aa1!`;
        await anonymous.createFirstUser({ email, username: 'admin', name: 'coder-k8s admin', password });
        // Not owned by the control plane: the first user outlives it, and so must its password.
        await this.#write(ccp, credentialsName, { email, password, username: 'admin' }, {}, false);
        credentials = await this.#read(namespace, credentialsName);
        this.#logger.info('created the first Coder user', { namespace, name: ccp.metadata.name, secret: credentialsName });
        firstUser = { username: 'admin', secretName: credentialsName };
      }
      const email = secretValue(credentials, 'email');
      const password = secretValue(credentials, 'password');
      if (!email || !password) {
        return {
          ok: false,
          reason: 'AdminCredentialsRequired',
          message: `Coder already has users: put an owner's email and password in Secret "${credentialsName}" (keys email, password), or set spec.operatorAccess.tokenSecretRef`,
        };
      }
      try {
        return { ok: true, token: (await anonymous.login({ email, password })).session_token, ...(firstUser ? { firstUser } : {}) };
      } catch (err) {
        if (isCoderApiError(err) && (err.statusCode === 401 || err.statusCode === 403)) {
          return { ok: false, reason: 'AdminLoginFailed', message: `Coder refused the credentials in Secret "${credentialsName}": ${err.describe()}` };
        }
        throw err;
      }
    } finally {
      await anonymous.close();
    }
  }

  /** The dedicated operator user (login type none, owner role), created when missing. */
  async #operatorUser(admin: CoderClient): Promise<string> {
    try {
      const user = await admin.getUser(OPERATOR_USERNAME);
      if (!user.roles.some((r) => r.name === 'owner')) await admin.updateUserRoles(OPERATOR_USERNAME, ['owner']);
      return user.username;
    } catch (err) {
      if (!isCoderApiError(err) || err.statusCode !== 400) throw err;
    }
    const orgs = await admin.listOrganizations();
    await admin.createUser({
      email: `${OPERATOR_USERNAME}@coder-k8s.local`,
      username: OPERATOR_USERNAME,
      name: 'coder-k8s operator',
      login_type: 'none',
      user_status: 'active',
      organization_ids: orgs.map((o) => o.id),
    });
    await admin.updateUserRoles(OPERATOR_USERNAME, ['owner']);
    return OPERATOR_USERNAME;
  }

  #read(namespace: string, name: string): Promise<V1Secret | undefined> {
    return readSecret(this.#core, namespace, name);
  }

  async #write(ccp: CoderControlPlane, name: string, data: Record<string, string>, annotations: Record<string, string>, owned = true): Promise<void> {
    const namespace = ccp.metadata.namespace;
    const body: V1Secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: {
        name,
        namespace,
        annotations,
        labels: { 'app.kubernetes.io/managed-by': 'coder-k8s', 'coder.com/control-plane-name': ccp.metadata.name },
        ...(owned
          ? { ownerReferences: [{ apiVersion: 'coder.com/v1alpha1', kind: 'CoderControlPlane', name: ccp.metadata.name, uid: ccp.metadata.uid ?? '', controller: true }] }
          : {}),
      },
      stringData: data,
    };
    try {
      await this.#core.createNamespacedSecret({ namespace, body });
    } catch (err) {
      if (!isConflict(err)) throw err;
      await this.#core.replaceNamespacedSecret({ name, namespace, body });
    }
  }
}
