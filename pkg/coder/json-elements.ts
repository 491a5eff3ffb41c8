const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;

/**
 * The elements of the array under `key` in a JSON object, each parsed and handed to `map` on
 * its own, so only one element's parsed form is alive at a time (unless `each` keeps it).
 *
 * Why not JSON.parse of the whole body: Coder's list of 10 000 workspaces is ≈ 25 MiB, and
 * parsing it whole holds the text and every parsed object at once (≈ +125 MiB peak in V8)
 * where element by element holds only what `each` keeps (≈ +30 MiB), for about the same
 * time. Streaming JSON libraries tokenize in JavaScript and took several times as long.
 * The scan only finds element boundaries (strings are skipped with Buffer#indexOf); every
 * element is still parsed by JSON.parse, and a body whose shape the scan does not recognise
 * is parsed whole, so it fails as JSON.parse fails.
 */
export function forEachArrayElement(body: Buffer, key: string, each: (element: unknown) => void): void {
  const bounds = elementBounds(body, key);
  if (!bounds) {
    wholeElements(body, key).forEach((element) => {
      each(element);
    });
    return;
  }
  for (let i = 0; i < bounds.length; i += 2) each(JSON.parse(body.toString('utf8', bounds[i], bounds[i + 1])));
}

function wholeElements(body: Buffer, key: string): unknown[] {
  const parsed: unknown = JSON.parse(body.toString('utf8'));
  const value = parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>)[key] : undefined;
  if (!Array.isArray(value)) throw new SyntaxError(`expected a JSON object with an array "${key}"`);
  return value;
}

/** The index after the string starting at `start` (its opening quote), or -1 when unterminated. */
function skipString(body: Buffer, start: number): number {
  let end = start;
  for (;;) {
    end = body.indexOf(QUOTE, end + 1);
    if (end < 0) return -1;
    let backslashes = 0;
    while (body[end - 1 - backslashes] === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return end + 1;
  }
}

/**
 * Start/end offsets of the elements of the top-level member `key` (an array), or undefined
 * when the body is not shaped so (or the scan cannot tell): the caller then parses it whole.
 */
function elementBounds(body: Buffer, key: string): number[] | undefined {
  let i = body.indexOf(OPEN_OBJECT);
  if (i < 0 || body.subarray(0, i).some((c) => !isSpace(c))) return undefined;
  let depth = 0;
  // Top-level member names are read from the text after `{` or `,` at depth 1.
  let expectKey = false;
  let inTarget = false;
  let found: number[] | undefined;
  let elementStart = -1;
  for (; i < body.length; i++) {
    const c = body[i];
    if (c === QUOTE) {
      const end = skipString(body, i);
      if (end < 0) return undefined;
      if (depth === 1 && expectKey) {
        expectKey = false;
        const colon = nextNonSpace(body, end);
        if (body[colon] !== COLON) return undefined;
        const value = nextNonSpace(body, colon + 1);
        if (body.toString('utf8', i + 1, end - 1) === key && body[value] === OPEN_ARRAY) {
          if (found) return undefined; // a repeated key: JSON.parse keeps the last, let it decide
          found = [];
          inTarget = true;
          depth = 2;
          i = value;
          continue;
        }
        i = colon;
        continue;
      }
      if (inTarget && depth === 2) {
        found?.push(i, end); // a string element
      }
      i = end - 1;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      depth++;
      if (depth === 1) expectKey = true;
      if (inTarget && depth === 3) elementStart = i;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      if (inTarget && depth === 3) found?.push(elementStart, i + 1);
      depth--;
      if (inTarget && depth === 1) inTarget = false;
      if (depth === 0) return found && body.subarray(i + 1).every(isSpace) ? found : undefined;
    } else if (c === COMMA && depth === 1) {
      expectKey = true;
    } else if (inTarget && depth === 2 && !isSpace(c) && c !== COMMA) {
      // A number, true, false or null element: up to the next comma or the array's end.
      let end = i;
      while (end < body.length && body[end] !== COMMA && body[end] !== CLOSE_ARRAY && !isSpace(body[end] ?? 0)) end++;
      found?.push(i, end);
      i = end - 1;
    }
  }
  return undefined;
}

function nextNonSpace(body: Buffer, from: number): number {
  let i = from;
  while (i < body.length && isSpace(body[i] ?? 0)) i++;
  return i;
}

function isSpace(c: number | undefined): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}
