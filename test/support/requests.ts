/** The headers of the i-th of many requests: a user of its own, one of seven tenants. */
export const requestHeaders = (i: number) => ({
  'x-user': `user-${i}`,
  'x-tenant': `tenant-${i % 7}`,
});

/**
 * GETs `url` `count` times at once, the i-th with `requestHeaders(i)`, and
 * returns the JSON bodies in request order; a status other than 200 fails.
 */
export function getConcurrently<T>(url: string, count: number): Promise<T[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const response = await fetch(url, { headers: requestHeaders(i) });
      if (response.status !== 200) {
        throw new Error(`request ${i}: status ${response.status}: ${await response.text()}`);
      }
      return (await response.json()) as T;
    }),
  );
}
