// Request accounting for assertions ("did the client call X only once?").
// Paths are stored without secrets: query parameters that can carry a token
// are redacted and headers are never recorded.

/** One served request. */
export interface RequestRecord {
  method: string;
  /** URL path without the query string. */
  path: string;
  /** Query string with `coder_session_token`/`access_token` redacted ('' when none). */
  query: string;
  /** Route template, e.g. `/api/v2/workspaces/{workspace}`; null when no route matched. */
  route: string | null;
  status: number;
  durationMs: number;
  /** Latency added by knobs (global + per-route) before the handler ran. */
  injectedLatencyMs: number;
  at: string;
}

const SECRET_PARAMS = ['coder_session_token', 'access_token'];

export function redactQuery(search: string): string {
  if (search === '' || search === '?') return '';
  const params = new URLSearchParams(search);
  for (const name of SECRET_PARAMS) {
    if (params.has(name)) params.set(name, 'REDACTED');
  }
  return params.toString();
}

export class Counters {
  /** How many recent requests `recent` keeps. */
  readonly maxRecent = 1000;
  private readonly byKey = new Map<string, number>();
  private readonly log: RequestRecord[] = [];

  /** Requests served for a key `"METHOD /route/template"`, e.g. `GET /api/v2/workspaces`. */
  get(route: string): number {
    return this.byKey.get(route) ?? 0;
  }

  /** All keys with their counts. */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.byKey);
  }

  /** Most recent requests, oldest first. */
  get recent(): readonly RequestRecord[] {
    return this.log;
  }

  get total(): number {
    let sum = 0;
    for (const n of this.byKey.values()) sum += n;
    return sum;
  }

  reset(): void {
    this.byKey.clear();
    this.log.length = 0;
  }

  /** @internal */
  record(entry: RequestRecord): void {
    const key = `${entry.method} ${entry.route ?? entry.path}`;
    this.byKey.set(key, this.get(key) + 1);
    this.log.push(entry);
    if (this.log.length > this.maxRecent) this.log.splice(0, this.log.length - this.maxRecent);
  }
}
