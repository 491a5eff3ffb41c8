import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { eventually } from '../../test/util/eventually.ts';
import { cancelWith, uncancellable } from './cancellation.ts';
import { CoderClient } from './client.ts';
import { CoderApiError } from './errors.ts';

// A Coder that answers only when told to, and records when a caller hung up on it.
let server: Server;
let url: string;
const waiting: { req: IncomingMessage; answer: () => void; closed: Promise<void> }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const closed = new Promise<void>((resolve) => res.once('close', () => {
      resolve();
    }));
    waiting.push({
      req,
      closed,
      answer: () => {
        res.setHeader('Content-Type', 'application/json');
        res.end('{"version":"v2.30.0"}');
      },
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function pending(count: number) {
  return eventually(`request #${count} to reach Coder`, () => Promise.resolve(waiting[count - 1]));
}

describe('cancelWith', () => {
  it('aborts the Coder request when its caller is gone, reports it canceled, and closes the connection', async () => {
    const observed: (number | string)[] = [];
    const client = new CoderClient({ url, token: 't', observer: { observe: (_e, code) => observed.push(code) } });
    const abort = new AbortController();
    const call = cancelWith(abort.signal, () => client.buildInfo()).catch((e: unknown) => e);
    const request = await pending(waiting.length + 1);
    abort.abort();
    const err = await call;
    expect(err).toBeInstanceOf(CoderApiError);
    expect((err as CoderApiError).kind).toBe('canceled');
    expect(observed).toEqual(['canceled']);
    await request.closed;
    await client.close();
  });

  it('leaves shared work alone: an uncancellable call inside a canceled scope completes', async () => {
    const client = new CoderClient({ url, token: 't' });
    const abort = new AbortController();
    const call = cancelWith(abort.signal, () => uncancellable(() => client.buildInfo()));
    const request = await pending(waiting.length + 1);
    abort.abort();
    request.answer();
    await expect(call).resolves.toEqual({ version: 'v2.30.0' });
    await client.close();
  });

  it('combines nested scopes: either one cancels', async () => {
    const client = new CoderClient({ url, token: 't' });
    const outer = new AbortController();
    const call = cancelWith(outer.signal, () => cancelWith(new AbortController().signal, () => client.buildInfo())).catch((e: unknown) => e);
    await pending(waiting.length + 1);
    outer.abort();
    expect((await call) as CoderApiError).toMatchObject({ kind: 'canceled' });
    await client.close();
  });

  it('does not start a request for a caller that is already gone', async () => {
    const client = new CoderClient({ url, token: 't' });
    const before = waiting.length;
    const err = await cancelWith(AbortSignal.abort(), () => client.buildInfo()).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'canceled' });
    expect(waiting.length).toBe(before);
    await client.close();
  });
});
