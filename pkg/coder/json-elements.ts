const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/** Where the scan stands: between the top-level tokens it consumes whole. */
type State = 'start' | 'firstMember' | 'member' | 'afterMember' | 'firstElement' | 'element' | 'afterElement' | 'end';

/** The scan cannot go on until more bytes arrive. */
const INCOMPLETE = -1;

/**
 * Hands each element of the array under `key` in a JSON object to `each`, parsed on its own, as
 * the bytes arrive (`write`, then `end`): neither the text nor its parsed form is ever whole.
 *
 * Why not JSON.parse of the whole body: Coder's list of 10 000 workspaces is ≈ 25 MiB, and
 * parsing it whole holds the bytes, the text and every parsed object at once (≈ +125 MiB in
 * V8) where this holds one element at a time, for about the same time. Streaming JSON
 * libraries tokenize every byte in JavaScript and took several times as long: this scan only
 * finds element boundaries (strings are skipped with Buffer#indexOf), and each element is
 * parsed by JSON.parse. Until the array starts the bytes are kept, so a body of another shape
 * is parsed whole and fails as JSON.parse fails; after it, a malformed structure or element is
 * a SyntaxError. Other members of the object are skipped by their boundaries, not validated.
 */
export class ArrayElementStream {
  readonly #key: string;
  readonly #each: (element: unknown) => void;
  #state: State = 'start';
  #pending: Buffer = Buffer.alloc(0);
  /** Everything written, until the array starts (for the whole-body fallback). */
  #held: Buffer[] | undefined = [];
  /** False once the body is known not to be of the expected shape: it is only held then. */
  #scanning = true;
  #offset = 0;

  constructor(key: string, each: (element: unknown) => void) {
    this.#key = key;
    this.#each = each;
  }

  write(chunk: Buffer): void {
    this.#held?.push(chunk);
    if (!this.#scanning) return;
    const data = this.#pending.length > 0 ? Buffer.concat([this.#pending, chunk]) : chunk;
    const stop = this.#scan(data);
    this.#offset += stop;
    this.#pending = data.subarray(stop);
  }

  end(): void {
    if (this.#held) {
      // The array never started: whatever this is, JSON.parse says what is wrong with it.
      for (const element of wholeElements(Buffer.concat(this.#held), this.#key)) this.#each(element);
      return;
    }
    if (this.#state !== 'end' || this.#pending.some((c) => !isSpace(c))) {
      throw new SyntaxError(`unexpected end of JSON input after byte ${String(this.#offset)} (in ${this.#state})`);
    }
  }

  /** Consumes whole tokens from `data`; returns where the first incomplete one starts. */
  #scan(data: Buffer): number {
    let i = 0;
    for (;;) {
      i = nextNonSpace(data, i);
      if (i >= data.length) return i;
      const c = data[i];
      switch (this.#state) {
        case 'start':
          if (c !== OPEN_OBJECT) return this.#unexpected(data, i);
          this.#state = 'firstMember';
          i++;
          break;
        case 'firstMember':
        case 'member': {
          if (c === CLOSE_OBJECT && this.#state === 'firstMember') {
            this.#state = 'end';
            i++;
            break;
          }
          if (c !== QUOTE) return this.#unexpected(data, i);
          const keyEnd = skipString(data, i);
          if (keyEnd === INCOMPLETE) return i;
          const colon = nextNonSpace(data, keyEnd);
          if (colon >= data.length) return i;
          if (data[colon] !== COLON) return this.#unexpected(data, colon);
          const value = nextNonSpace(data, colon + 1);
          if (value >= data.length) return i;
          if (data[value] === OPEN_ARRAY && data.toString('utf8', i + 1, keyEnd - 1) === this.#key) {
            if (!this.#held) throw new SyntaxError(`"${this.#key}" appears twice in the JSON object`);
            this.#held = undefined; // from here on, only the element being read is kept
            this.#state = 'firstElement';
            i = value + 1;
            break;
          }
          const valueEnd = skipValue(data, value);
          if (valueEnd === INCOMPLETE) return i;
          this.#state = 'afterMember';
          i = valueEnd;
          break;
        }
        case 'afterMember':
          if (c === COMMA) this.#state = 'member';
          else if (c === CLOSE_OBJECT) this.#state = 'end';
          else return this.#unexpected(data, i);
          i++;
          break;
        case 'firstElement':
        case 'element': {
          if (c === CLOSE_ARRAY && this.#state === 'firstElement') {
            this.#state = 'afterMember';
            i++;
            break;
          }
          const end = skipValue(data, i);
          if (end === INCOMPLETE) return i;
          this.#each(JSON.parse(data.toString('utf8', i, end)));
          this.#state = 'afterElement';
          i = end;
          break;
        }
        case 'afterElement':
          if (c === COMMA) this.#state = 'element';
          else if (c === CLOSE_ARRAY) this.#state = 'afterMember';
          else return this.#unexpected(data, i);
          i++;
          break;
        case 'end':
          return this.#unexpected(data, i);
      }
    }
  }

  /** A byte the expected shape does not allow: before the array, the whole-body parse decides. */
  #unexpected(data: Buffer, at: number): number {
    if (this.#held) {
      // Stop scanning; end() parses everything held.
      this.#scanning = false;
      return data.length;
    }
    throw new SyntaxError(`unexpected ${JSON.stringify(String.fromCharCode(data[at] ?? 0))} at byte ${String(this.#offset + at)} of the JSON input`);
  }
}

function wholeElements(body: Buffer, key: string): unknown[] {
  const parsed: unknown = JSON.parse(body.toString('utf8'));
  const value = parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>)[key] : undefined;
  if (!Array.isArray(value)) throw new SyntaxError(`expected a JSON object with an array "${key}"`);
  return value;
}

/** The index after the string starting at `start` (its opening quote), or INCOMPLETE. */
function skipString(data: Buffer, start: number): number {
  let end = start;
  for (;;) {
    end = data.indexOf(QUOTE, end + 1);
    if (end < 0) return INCOMPLETE;
    let backslashes = 0;
    while (data[end - 1 - backslashes] === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return end + 1;
  }
}

/**
 * The index after the value starting at `start`, or INCOMPLETE. Objects and arrays are
 * matched by depth (strings skipped); numbers and literals end at a delimiter, so one that
 * reaches the end of the data may continue in the next chunk. Validity is JSON.parse's job.
 */
function skipValue(data: Buffer, start: number): number {
  const first = data[start];
  if (first === QUOTE) return skipString(data, start);
  if (first !== OPEN_OBJECT && first !== OPEN_ARRAY) {
    let end = start;
    while (end < data.length && !isDelimiter(data[end])) end++;
    return end < data.length ? end : INCOMPLETE;
  }
  let depth = 0;
  for (let i = start; i < data.length; i++) {
    const c = data[i];
    if (c === QUOTE) {
      const end = skipString(data, i);
      if (end === INCOMPLETE) return INCOMPLETE;
      i = end - 1;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      depth++;
    } else if ((c === CLOSE_OBJECT || c === CLOSE_ARRAY) && --depth === 0) {
      return i + 1;
    }
  }
  return INCOMPLETE;
}

function nextNonSpace(data: Buffer, from: number): number {
  let i = from;
  while (i < data.length && isSpace(data[i])) i++;
  return i;
}

function isDelimiter(c: number | undefined): boolean {
  return c === COMMA || c === CLOSE_ARRAY || c === CLOSE_OBJECT || isSpace(c);
}

function isSpace(c: number | undefined): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}
