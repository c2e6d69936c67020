/** WHERE clauses of optional filters: constant fragments with one `?` each, the values bound. */

/**
 * The fragments of `filters` whose value is given (not undefined, not ""), and their values in order: user input
 * only ever reaches the statement as a bound value.
 */
export function whereOf(
  filters: ReadonlyArray<readonly [sql: string, value: string | number | undefined]>,
): { where: string[]; args: Array<string | number> } {
  const where: string[] = [];
  const args: Array<string | number> = [];
  for (const [sql, value] of filters) {
    if (value === undefined || value === "") continue;
    where.push(sql);
    args.push(value);
  }
  return { where, args };
}
