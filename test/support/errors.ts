/** What `fn` throws; fails the test if it does not throw. */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}

/** The `code` of what `fn` throws. */
export function codeOf(fn: () => unknown): unknown {
  return (thrownBy(fn) as { code?: unknown }).code;
}

/** The rejection reason of `promise`; fails the test if it resolves. */
export async function rejectionOf(promise: PromiseLike<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}
