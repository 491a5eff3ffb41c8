/** Lists at least this long are written item by item (each of our objects is ≈ 1 KiB of JSON). */
export const STREAM_MIN_ITEMS = 256;
/** How much JSON is handed to the connection at a time. */
const CHUNK_CHARS = 64 * 1024;

/**
 * A list response body (a List, a PartialObjectMetadataList or a Table): its envelope and the
 * array under `key`. Long lists are serialised piece by piece as the client reads them
 * (compression.ts), never as one string: a 10 000-workspace list is ≈ 12 MiB of JSON, and
 * every concurrent LIST would hold its own copy, twice (string and bytes).
 */
export class StreamedList {
  readonly #envelope: Record<string, unknown>;
  readonly #key: string;
  readonly #items: readonly unknown[];

  constructor(envelope: Record<string, unknown>, key: string, items: readonly unknown[]) {
    const { [key]: _replaced, ...rest } = envelope;
    this.#envelope = rest;
    this.#key = key;
    this.#items = items;
  }

  get length(): number {
    return this.#items.length;
  }

  /** The whole document, for JSON.stringify (short lists, tests). */
  toJSON(): Record<string, unknown> {
    return { ...this.#envelope, [this.#key]: this.#items };
  }

  /** The same JSON as JSON.stringify(this), in pieces of about 64 Ki characters. */
  *chunks(): Generator<string> {
    // The array is the envelope's last member, so its JSON ends with `[]}`.
    const head = JSON.stringify({ ...this.#envelope, [this.#key]: [] });
    let chunk = head.slice(0, -2);
    for (let i = 0; i < this.#items.length; i++) {
      chunk += (i === 0 ? '' : ',') + JSON.stringify(this.#items[i]);
      if (chunk.length >= CHUNK_CHARS) {
        yield chunk;
        chunk = '';
      }
    }
    yield `${chunk}]}`;
  }
}
