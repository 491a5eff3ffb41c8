/** Whether this process runs in a Pod (the service account's API server address is set). */
export function inCluster(): boolean {
  return !!process.env.KUBERNETES_SERVICE_HOST;
}
