import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type PeerCertificate } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createCertificateAuthority, issueCertificate, type KeyPairPem } from '../../pkg/certs/certs.ts';
import { capturedLogger, eventually, startHarness, type Harness } from './harness.ts';

let dir = '';
let h: Harness;
const { logger, lines: logs } = capturedLogger();

async function serving(name: string): Promise<KeyPairPem> {
  const ca = await createCertificateAuthority(`${name}-ca`);
  return issueCertificate(ca, { commonName: name, hosts: ['localhost', '127.0.0.1'], usages: ['server'] });
}

/** Replaces both files the way a Secret volume does: new files, then an atomic rename. */
async function install(pair: KeyPairPem): Promise<void> {
  await writeFile(join(dir, 'tls.crt.new'), pair.cert);
  await writeFile(join(dir, 'tls.key.new'), pair.key);
  await rename(join(dir, 'tls.key.new'), join(dir, 'tls.key'));
  await rename(join(dir, 'tls.crt.new'), join(dir, 'tls.crt'));
}

function presented(port: number): Promise<PeerCertificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate());
      socket.end();
    });
    socket.once('error', reject);
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'coder-k8s-serving-'));
  await install(await serving('first'));
  h = await startHarness({ logger, flags: [`--tls-cert-file=${join(dir, 'tls.crt')}`, `--tls-private-key-file=${join(dir, 'tls.key')}`] });
});
afterAll(async () => {
  await h.close();
  await rm(dir, { recursive: true, force: true });
});

describe('serving certificate files', () => {
  it('serves a rotated certificate to new connections without a restart, and keeps serving when the new files are broken', async () => {
    expect((await presented(h.api.port)).subject.CN).toBe('first');
    await install(await serving('second'));
    await eventually('the rotated certificate', async () => ((await presented(h.api.port)).subject.CN === 'second' ? true : undefined));
    expect(logs.some((l) => l.includes('serving certificate reloaded'))).toBe(true);
    const third = await serving('third');
    await writeFile(join(dir, 'tls.crt'), third.cert); // a certificate without its key: does not load
    await eventually('the refusal', () => Promise.resolve(logs.some((l) => l.includes('do not load')) || undefined));
    expect((await presented(h.api.port)).subject.CN).toBe('second');
  });
});
