import type { Context } from 'koa';
import { cancelWith } from '../coder/cancellation.ts';
import { parseGoDuration } from '../util/duration.ts';
import { isWatch, queryString } from './request.ts';

const abandoned = new WeakSet<Context>();

/** Whether the client of this read went away before it was answered (its answer is for nobody). */
export function clientWentAway(ctx: Context): boolean {
  return abandoned.has(ctx);
}

/**
 * Runs a read so that the Coder requests it sends are aborted when nobody will see the
 * answer: the client (or kube-apiserver's proxy, at its own timeout) closed the connection,
 * or the request's `?timeout=` passed (kube-apiserver's deadline for non-watch requests,
 * forwarded by the aggregator; a malformed value is ignored, as kube-apiserver does). A
 * watch's own reads are shared by every watcher and never canceled by one of them.
 *
 * Writes are not run this way: Coder has no transactions, and a create or update cut off
 * between its Coder calls would leave half of it done.
 */
export async function cancelableRead(ctx: Context, read: () => Promise<void>): Promise<void> {
  const controller = new AbortController();
  const onClose = () => {
    // Closed before this server ended the response: the client went away (writableFinished is
    // true on an aborted HTTP/2 stream too).
    if (ctx.res.writableEnded) return;
    abandoned.add(ctx);
    controller.abort(new Error('the client closed the connection'));
  };
  ctx.res.once('close', onClose);
  // A watch is long-running: timeoutSeconds ends it, `timeout` does not apply.
  const timeoutParam = isWatch(ctx) ? undefined : queryString(ctx, 'timeout');
  const timeoutMs = timeoutParam ? parseGoDuration(timeoutParam) : undefined;
  const timer =
    timeoutMs !== undefined && timeoutMs > 0
      ? setTimeout(() => {
          controller.abort(new Error(`the request's timeout (${timeoutParam ?? ''}) passed`));
        }, timeoutMs)
      : undefined;
  try {
    await cancelWith(controller.signal, read);
  } finally {
    clearTimeout(timer);
    ctx.res.off('close', onClose);
  }
}
