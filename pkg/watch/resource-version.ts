import { createHash, randomInt } from 'node:crypto';
import stringify from 'safe-stable-stringify';

const TAG_BITS = 20n;
const FINGERPRINT_BITS = 32n;
const TAG_MASK = (1n << TAG_BITS) - 1n;
const FINGERPRINT_MASK = (1n << FINGERPRINT_BITS) - 1n;
/** Decimal digits, no sign, no leading zero: the only spelling this server issues. */
const CANONICAL = /^[1-9][0-9]{0,39}$/;

export interface ParsedResourceVersion {
  /** Position in the issuing process's event order. */
  counter: number;
  /** The issuing process. */
  tag: number;
  /** Content fingerprint of the object version (0 for list and bookmark versions). */
  fingerprint: number;
}

/**
 * resourceVersions of this process: `counter << 52 | tag << 32 | fingerprint`, written in
 * decimal. The counter is seeded from the clock in microseconds and incremented per
 * change, so versions increase across restarts. The tag is random per process (one in a
 * million chance that two replicas share one), so a version issued by another replica or
 * an earlier process is recognised as foreign even when both started in the same
 * millisecond. The fingerprint is a hash of the object's content, so a precondition
 * written against another replica's version still succeeds when nothing changed.
 */
export class ResourceVersionClock {
  readonly tag: number;
  readonly #seed: number;
  #last: number;

  constructor(nowMs: number = Date.now(), tag: number = randomInt(0, 2 ** Number(TAG_BITS))) {
    this.tag = tag;
    this.#seed = Math.floor(nowMs * 1000);
    this.#last = this.#seed;
  }

  /** The newest position issued: every change up to it has been published. */
  get current(): number {
    return this.#last;
  }

  next(): number {
    this.#last += 1;
    return this.#last;
  }

  format(counter: number, fingerprint = 0): string {
    return ((BigInt(counter) << (TAG_BITS + FINGERPRINT_BITS)) | (BigInt(this.tag) << FINGERPRINT_BITS) | BigInt(fingerprint)).toString();
  }

  /** The list (or bookmark) version for the current position. */
  formatCurrent(): string {
    return this.format(this.#last);
  }

  /** undefined when the string is not a version this format can express at all. */
  static parse(value: string): ParsedResourceVersion | undefined {
    if (!CANONICAL.test(value)) return undefined;
    const n = BigInt(value);
    const counter = n >> (TAG_BITS + FINGERPRINT_BITS);
    if (counter > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
    return { counter: Number(counter), tag: Number((n >> FINGERPRINT_BITS) & TAG_MASK), fingerprint: Number(n & FINGERPRINT_MASK) };
  }

  /** A position this process issued (not another replica's, an earlier process's or a forged one). */
  issued(version: ParsedResourceVersion): boolean {
    return version.tag === this.tag && version.counter >= this.#seed && version.counter <= this.#last;
  }
}

/** 32 bits of a content hash (see contentHash). */
export function fingerprintOf(hash: string): number {
  return Number.parseInt(hash.slice(0, 8), 16);
}

/** Hash of what a client can see of an object version, its resourceVersion aside; key order does not matter. */
export function contentHash(object: { metadata: { resourceVersion?: string } }): string {
  const { resourceVersion: _rv, ...metadata } = object.metadata;
  return createHash('sha1')
    .update(stringify({ ...object, metadata }) ?? '')
    .digest('hex');
}

/**
 * Whether an update's resourceVersion precondition holds for the current object: the same
 * version, or a version of the same content (issued by another replica or an earlier
 * process, or before an unrelated rebuild of this process's view).
 */
export function preconditionHolds(expected: string, current: { metadata: { resourceVersion?: string } }): boolean {
  const actual = current.metadata.resourceVersion ?? '';
  if (expected === actual) return true;
  const a = ResourceVersionClock.parse(expected);
  const b = ResourceVersionClock.parse(actual);
  return !!a && !!b && a.fingerprint !== 0 && a.fingerprint === b.fingerprint;
}
