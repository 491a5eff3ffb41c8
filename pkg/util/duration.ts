import parseDuration from 'parse-duration';

const GO_DURATION = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;

/** A Go duration ("30s", "1m30s", "250ms", "0") in milliseconds, as Kubernetes writes them; undefined when malformed. */
export function parseGoDuration(value: string): number | undefined {
  const ms = value === '0' ? 0 : GO_DURATION.test(value) ? parseDuration(value) : null;
  return ms === null || !Number.isFinite(ms) ? undefined : ms;
}
