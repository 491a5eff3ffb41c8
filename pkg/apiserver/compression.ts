import { Readable, pipeline } from 'node:stream';
import { promisify } from 'node:util';
import { constants, createGzip, gzip } from 'node:zlib';
import type { Context, Next } from 'koa';
import { STREAM_MIN_ITEMS, StreamedList } from './streamed-list.ts';

const gzipAsync = promisify(gzip);

/** kube-apiserver's threshold: smaller responses are not worth the CPU. */
export const GZIP_THRESHOLD_BYTES = 128 * 1024;

/**
 * Serialises JSON bodies here (once) and gzips those of at least GZIP_THRESHOLD_BYTES when
 * the client accepts gzip, at the fastest level, as kube-apiserver does (a 10 000-workspace
 * list is about 12 MB of JSON). Lists of STREAM_MIN_ITEMS or more are serialised and
 * compressed as the client reads them (their size is unknown up front, and well above the
 * threshold). Streams (watches) are left alone.
 */
export async function compressLargeResponses(ctx: Context, next: Next): Promise<void> {
  await next();
  const body: unknown = ctx.body;
  if (body === null || typeof body !== 'object' || Buffer.isBuffer(body) || typeof (body as { pipe?: unknown }).pipe === 'function') return;
  ctx.vary('Accept-Encoding');
  const gzipAccepted = ctx.acceptsEncodings('gzip', 'identity') === 'gzip';
  if (body instanceof StreamedList && body.length >= STREAM_MIN_ITEMS) {
    const json = Readable.from(body.chunks());
    if (!gzipAccepted) {
      ctx.body = json;
      return;
    }
    // pipeline, not pipe: a client that goes away mid-list ends the serialisation too.
    ctx.body = pipeline(json, createGzip({ level: constants.Z_BEST_SPEED }), () => undefined);
    ctx.set('Content-Encoding', 'gzip');
    return;
  }
  // Encoded once: measured, sent, or compressed from the same bytes.
  const json = Buffer.from(JSON.stringify(body));
  // The content type set with the object stays (a Buffer body does not change it).
  if (json.length < GZIP_THRESHOLD_BYTES || !gzipAccepted) {
    ctx.body = json;
    return;
  }
  ctx.body = await gzipAsync(json, { level: constants.Z_BEST_SPEED });
  ctx.set('Content-Encoding', 'gzip');
}
