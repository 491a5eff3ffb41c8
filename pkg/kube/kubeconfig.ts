import { KubeConfig } from '@kubernetes/client-node';

/**
 * Loads a kubeconfig the way Kubernetes components do: an explicit file, else the
 * in-cluster service account, else $KUBECONFIG / ~/.kube/config.
 */
export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else if (process.env.KUBERNETES_SERVICE_HOST && process.env.KUBERNETES_SERVICE_PORT) kc.loadFromCluster();
  else kc.loadFromDefault();
  if (!kc.getCurrentCluster()) throw new Error(`kubeconfig${path ? ` ${path}` : ''} has no current cluster`);
  return kc;
}
