/** Coder RFC 3339 time → Kubernetes metav1.Time (second precision, UTC); zero/absent → undefined. */
export function kubeTime(value: string | null | undefined): string | undefined {
  if (!value || value.startsWith('0001-01-01')) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) return undefined;
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
