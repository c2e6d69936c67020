/**
 * What the data pages read from a query string (bounded, unknown values dropped rather than refused: a filter
 * form is forgiving) and the one way they show an object's properties.
 */

/** `v` if it is one of `options`. */
export function pick<T extends string>(v: string | undefined, options: readonly T[]): T | undefined {
  return (options as readonly string[]).includes(v ?? "") ? v as T : undefined;
}

/** `v` trimmed, if not empty and at most `max` characters. */
export function short(v: string | undefined, max = 255): string | undefined {
  const s = v?.trim();
  return s && s.length <= max ? s : undefined;
}

/** A keyset cursor (a positive row id). */
export function cursor(v: string | undefined): number | undefined {
  const n = Number(v);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

/** An ISO time (any form Date.parse reads, normalised). */
export function isoTime(v: string | undefined): string | undefined {
  const s = short(v, 40);
  const ms = s === undefined ? NaN : Date.parse(s);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** A definition list of label / value pairs. */
export function PropList(props: { id: string; rows: Array<[string, unknown]> }) {
  return (
    <dl class="props" id={props.id}>
      {props.rows.map(([k, v]) => (
        <>
          <dt>{k}</dt>
          <dd>{String(v ?? "")}</dd>
        </>
      ))}
    </dl>
  );
}
