/** UTC RFC 3339 as Coder writes it (Go's time.Time JSON): seconds, optional fraction, Z. */
const UTC_RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

/** Coder RFC 3339 time → Kubernetes metav1.Time (second precision, UTC); zero/absent → undefined. */
export function kubeTime(value: string | null | undefined): string | undefined {
  if (!value || value.startsWith('0001-01-01')) return undefined;
  // The common case needs no Date: drop the fraction (a list converts tens of thousands).
  if (UTC_RFC3339.test(value)) return `${value.slice(0, 19)}Z`;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) return undefined;
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
