import { connect } from 'node:http2';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Agent, request } from 'undici';
import { selfSignedServing, type ServingCertificate } from '../certs/certs.ts';
import { SecureListener, connectionOf } from './transport.ts';

let tls: ServingCertificate;
let listener: SecureListener;
let port: number;
const seen: { version: string; connection: object }[] = [];

beforeAll(async () => {
  tls = await selfSignedServing(['localhost']);
  listener = new SecureListener(tls, (req, res) => {
    seen.push({ version: req.httpVersion, connection: connectionOf(req) });
    res.end('ok');
  });
  port = await listener.listen(0, '127.0.0.1');
});

afterAll(async () => {
  await listener.stop(1000, () => true);
});

describe('connectionOf', () => {
  it('is one object for every stream of an HTTP/2 session, another for the next session', async () => {
    seen.length = 0;
    const get = async () => {
      const session = connect(`https://127.0.0.1:${port}`, { ca: tls.caCert, servername: 'localhost' });
      const one = () =>
        new Promise<void>((resolve, reject) => {
          const stream = session.request({ ':path': '/' });
          stream.resume();
          stream.once('end', resolve);
          stream.once('error', reject);
        });
      await Promise.all([one(), one(), one()]);
      session.close();
    };
    await get();
    await get();
    expect(seen.map((s) => s.version)).toEqual(['2.0', '2.0', '2.0', '2.0', '2.0', '2.0']);
    const [a, b, c, d] = seen.map((s) => s.connection);
    expect(a).toBe(b);
    expect(b).toBe(c);
    expect(d).not.toBe(a);
  });

  it('is the socket of an HTTP/1.1 connection', async () => {
    seen.length = 0;
    const agent = new Agent({ connect: { ca: tls.caCert, servername: 'localhost' }, allowH2: false, connections: 1 });
    for (let i = 0; i < 2; i++) await (await request(`https://127.0.0.1:${port}/`, { dispatcher: agent })).body.text();
    await agent.close();
    expect(seen.map((s) => s.version)).toEqual(['1.1', '1.1']);
    expect(seen[0]?.connection).toBe(seen[1]?.connection);
  });
});
