import { describe, expect, it, jest } from '@jest/globals';
import { ArrayElementStream } from './json-elements.ts';

/** The elements of a whole body, written at once. */
function elements(text: string, key = 'workspaces'): unknown[] {
  const out: unknown[] = [];
  const stream = new ArrayElementStream(key, (e) => out.push(e));
  stream.write(Buffer.from(text, 'utf8'));
  stream.end();
  return out;
}

/** The elements, and how many JSON.parse calls read them: one per element when the scan followed the body. */
function scanned(text: string): { out: unknown[]; parses: number } {
  const parse = jest.spyOn(JSON, 'parse');
  try {
    return { out: elements(text), parses: parse.mock.calls.length };
  } finally {
    parse.mockRestore();
  }
}
/** What JSON.parse of the whole body says, for comparison. */
const reference = (text: string, key = 'workspaces'): unknown => (JSON.parse(text) as Record<string, unknown>)[key];

/** A small deterministic generator, so a failure reproduces. */
function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

const TRICKY = ['"', '\\', '\\"', '{', '}', '[', ']', ',', ':', '\n', 'é', '😀', '\u0000', '"workspaces":[', '\\\\'];

function value(next: () => number, depth: number): unknown {
  const r = next();
  if (depth > 3 || r < 0.3) {
    const k = Math.floor(next() * 5);
    if (k === 0) return Math.floor(next() * 1e6) / 100;
    if (k === 1) return next() < 0.5;
    if (k === 2) return null;
    return Array.from({ length: Math.floor(next() * 4) }, () => TRICKY[Math.floor(next() * TRICKY.length)]).join('');
  }
  if (r < 0.6) return Array.from({ length: Math.floor(next() * 4) }, () => value(next, depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = Math.floor(next() * 4); i > 0; i--) o[`${TRICKY[Math.floor(next() * TRICKY.length)] ?? ''}${i}`] = value(next, depth + 1);
  return o;
}

describe('ArrayElementStream', () => {
  it('hands over each element of the named top-level array, parsed', () => {
    const text = '{"count":2,"workspaces":[{"id":"a","b":{"c":[1,2]}},{"id":"b"}]}';
    expect(scanned(text)).toEqual({ out: reference(text), parses: 2 });
  });

  it('finds the key only at the top level, wherever it is among the members', () => {
    const text = '{"a":{"workspaces":[1]},"s":"\\"workspaces\\":[2]","workspaces":[3,"x",null,true,[4]],"z":[{"workspaces":[5]}]}';
    expect(elements(text)).toEqual([3, 'x', null, true, [4]]);
  });

  it('reads strings with escaped quotes, backslashes and brackets', () => {
    const text = '{"workspaces":[{"n":"a\\\\"},{"n":"b\\"}],{"},{"n":"\\\\\\"]"},"tail\\\\"]}';
    expect(scanned(text)).toEqual({ out: reference(text), parses: 4 });
  });

  it('accepts whitespace anywhere JSON does, and an empty array', () => {
    const text = ' \n{ "workspaces" :\t[ { "id" : 1 } ,\r\n 2 , "x" ] , "count" : 2 }\n';
    expect(scanned(text)).toEqual({ out: reference(text), parses: 3 });
    expect(elements('{"workspaces":[]}')).toEqual([]);
    expect(elements('{"workspaces":[ ]}')).toEqual([]);
  });

  it('agrees with JSON.parse on generated documents', () => {
    const next = random(42);
    for (let n = 0; n < 400; n++) {
      const list = Array.from({ length: Math.floor(next() * 6) }, () => value(next, 0));
      const doc: Record<string, unknown> = { before: value(next, 1), workspaces: list, after: value(next, 1) };
      const text = JSON.stringify(doc, null, next() < 0.3 ? 2 : undefined);
      expect(scanned(text)).toEqual({ out: list, parses: list.length });
    }
  });

  it('fails as JSON.parse does when the body is not a JSON object with that array', () => {
    expect(() => elements('{"workspaces":[{"id":1},')).toThrow(SyntaxError);
    expect(() => elements('{"workspaces":[{"id":"1}]}')).toThrow(SyntaxError);
    expect(() => elements('<html>Bad Gateway</html>')).toThrow(SyntaxError);
    expect(() => elements('{"count":0}')).toThrow('expected a JSON object with an array "workspaces"');
    expect(() => elements('{"workspaces":{"id":1}}')).toThrow('expected a JSON object with an array "workspaces"');
    expect(() => elements('[{"workspaces":[]}]')).toThrow('expected a JSON object with an array "workspaces"');
    expect(() => elements('{"workspaces":[1]} trailing')).toThrow(SyntaxError);
  });

  it('refuses what JSON.parse would refuse once the array has started, and a repeated key', () => {
    expect(() => elements('{"workspaces":[1,]}')).toThrow(SyntaxError);
    expect(() => elements('{"workspaces":[1],}')).toThrow(SyntaxError);
    expect(() => elements('{"workspaces":[1 2]}')).toThrow(SyntaxError);
    expect(() => elements('{"workspaces":[1],"workspaces":[2]}')).toThrow('"workspaces" appears twice in the JSON object');
  });

  it('reads the body in chunks of any size, parsing each element once', () => {
    const next = random(7);
    for (let n = 0; n < 200; n++) {
      const list = Array.from({ length: Math.floor(next() * 6) }, () => value(next, 0));
      const text = JSON.stringify({ count: list.length, workspaces: list, after: value(next, 1) }, null, next() < 0.3 ? 1 : undefined);
      const bytes = Buffer.from(text, 'utf8');
      const out: unknown[] = [];
      const parse = jest.spyOn(JSON, 'parse');
      try {
        const stream = new ArrayElementStream('workspaces', (e) => out.push(e));
        // Chunks split anywhere: inside strings, escapes, multi-byte characters, numbers, keys.
        for (let at = 0; at < bytes.length; ) {
          const size = 1 + Math.floor(next() * 40);
          stream.write(bytes.subarray(at, at + size));
          at += size;
        }
        stream.end();
        expect(parse.mock.calls.length).toBe(list.length);
      } finally {
        parse.mockRestore();
      }
      expect(out).toEqual(list);
    }
  });

  it('says where a body cut short ends', () => {
    const stream = new ArrayElementStream('workspaces', () => undefined);
    stream.write(Buffer.from('{"workspaces":[{"id":1},{"id"'));
    expect(() => {
      stream.end();
    }).toThrow('unexpected end of JSON input after byte 24 (in element)');
  });
});
