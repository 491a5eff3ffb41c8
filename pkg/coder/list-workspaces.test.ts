import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CoderClient } from './client.ts';
import { CoderApiError } from './errors.ts';

// A Coder whose /api/v2/workspaces answer is written by the test, in pieces.
let server: Server;
let url: string;
let answer: (res: ServerResponse) => void = () => undefined;

beforeAll(async () => {
  server = createServer((_req, res) => {
    answer(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const workspace = (id: string, name: string) => ({ id, name, owner_name: 'alice' });

describe('CoderClient.listAllWorkspaces', () => {
  it('maps each workspace as the answer arrives, once per id, however the bytes are split', async () => {
    const body = JSON.stringify({ workspaces: [workspace('a', 'one "quoted" ü'), workspace('b', 'two'), workspace('a', 'again')], count: 3 });
    answer = (res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      // Cut inside strings, escapes and a multi-byte character, with pauses between the pieces.
      const bytes = Buffer.from(body);
      let at = 0;
      const next = () => {
        if (at >= bytes.length) {
          res.end();
          return;
        }
        res.write(bytes.subarray(at, at + 7));
        at += 7;
        setTimeout(next, 1);
      };
      next();
    };
    const client = new CoderClient({ url, token: 't' });
    expect(await client.listAllWorkspaces((w) => `${w.id}:${w.name}`)).toEqual(['a:one "quoted" ü', 'b:two']);
    await client.close();
  });

  it('gives a malformed answer to the caller as what it is, not as Coder being unreachable', async () => {
    answer = (res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"workspaces":[{"id":"a"} {"id":"b"}]}');
    };
    const observed: (number | string)[] = [];
    const client = new CoderClient({ url, token: 't', observer: { observe: (_e, code) => observed.push(code) } });
    const err = await client.listAllWorkspaces((w) => w.id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SyntaxError);
    expect(err).not.toBeInstanceOf(CoderApiError);
    expect(observed).toEqual([200]);
    await client.close();
  });

  it('reads an error answer whole, as for any call', async () => {
    answer = (res) => {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: 'You must be logged in.' }));
    };
    const client = new CoderClient({ url, token: 't' });
    const err = await client.listAllWorkspaces((w) => w.id).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CoderApiError);
    expect((err as CoderApiError).statusCode).toBe(401);
    await client.close();
  });
});
