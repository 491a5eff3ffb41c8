import { StatusError } from '../../pkg/api/meta/status-error.ts';

/** The StatusError `fn` throws; fails the test when it throws something else or nothing. */
export function caughtStatus(fn: () => unknown): StatusError {
  try {
    fn();
  } catch (err) {
    if (err instanceof StatusError) return err;
    throw err;
  }
  throw new Error('expected a StatusError');
}
