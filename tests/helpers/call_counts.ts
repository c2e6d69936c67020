/** Counting the calls a code path makes on a store (how many reads and writes it costs, on either backend). */

/**
 * Counts each method call of `store` in `calls` as "name.method", from now on: the methods are wrapped in place,
 * so code holding the store object already (a worker built before) is counted too.
 */
export function countCalls(store: object, name: string, calls: Map<string, number>): void {
  const methods = store as Record<string, unknown>;
  for (const [key, fn] of Object.entries(methods)) {
    if (typeof fn !== "function") continue;
    methods[key] = (...args: unknown[]) => {
      calls.set(`${name}.${key}`, (calls.get(`${name}.${key}`) ?? 0) + 1);
      return fn.apply(store, args);
    };
  }
}
