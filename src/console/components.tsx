/**
 * Page helpers every console page uses: forms that carry the CSRF token (and render nothing for a viewer),
 * tables with a keyset "next page" link, filter forms, the flash message and the "shown once" secret dialog.
 */
import type { Child } from "hono/jsx";
import { useRequestContext } from "hono/jsx-renderer";
import type { ConsoleEnv } from "./context.ts";

/** The session's CSRF token as a hidden field (every POST form has one). */
export function Csrf() {
  const c = useRequestContext<ConsoleEnv>();
  return <input type="hidden" name="_csrf" value={c.get("session")?.csrf ?? ""} />;
}

/**
 * A write form: POST to `action` (relative to the console root) with the CSRF token. Rendered only for a session
 * that may write, so a viewer's pages have no write controls. `confirm` asks in the confirm dialog first.
 */
export function WriteForm(
  props: {
    action: string;
    confirm?: string;
    class?: string;
    children?: Child;
    label?: string;
    /** "multipart/form-data" for a file upload (the CSRF field travels in the multipart body). */
    enctype?: "multipart/form-data" | "application/x-www-form-urlencoded";
  },
) {
  const c = useRequestContext<ConsoleEnv>();
  if (c.get("session")?.role !== "admin") return null;
  return (
    <form
      method="post"
      action={`${c.get("base")}${props.action}`}
      class={props.class ?? "stack"}
      data-confirm={props.confirm}
      aria-label={props.label}
      enctype={props.enctype}
    >
      <Csrf />
      {props.children}
    </form>
  );
}

/** A one-button write form (disable, revoke, remove ...). */
export function ActionButton(props: { action: string; text: string; confirm?: string; danger?: boolean }) {
  return (
    <WriteForm action={props.action} confirm={props.confirm} class="inline">
      <button type="submit" class={props.danger ? "danger" : "secondary"}>{props.text}</button>
    </WriteForm>
  );
}

/** One column of a `Table`: its header and how to render a row's cell. */
export interface Column<T> {
  title: string;
  cell: (row: T) => Child;
  numeric?: boolean;
}

/** A table of rows and, when there are more, a "Next page" link carrying the keyset cursor. */
export function Table<T>(
  props: { caption: string; columns: Column<T>[]; rows: T[]; next?: string; empty?: string },
) {
  if (props.rows.length === 0) return <p>{props.empty ?? "Nothing here yet."}</p>;
  return (
    <>
      <table>
        <caption class="skip">{props.caption}</caption>
        <thead>
          <tr>{props.columns.map((col) => <th scope="col" key={col.title}>{col.title}</th>)}</tr>
        </thead>
        <tbody>
          {props.rows.map((row) => (
            <tr>
              {props.columns.map((col) => (
                <td key={col.title} class={col.numeric ? "num" : undefined}>{col.cell(row)}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {props.next && (
        <p class="pager">
          <a href={props.next} rel="next">Next page</a>
        </p>
      )}
    </>
  );
}

/** The query string of the next page: the current filters plus the cursor `after`. */
export function nextPageHref(filters: Record<string, string | undefined>, after: string): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(filters)) if (v) q.set(k, v);
  q.set("after", after);
  return `?${q}`;
}

/** A GET filter form (its fields are the children); "Clear" returns to the unfiltered list. */
export function FilterForm(props: { children?: Child; label: string }) {
  return (
    <form method="get" class="filters" role="search" aria-label={props.label}>
      {props.children}
      <button type="submit">Filter</button>
      <a class="button secondary" href="?">Clear</a>
    </form>
  );
}

/** The message a write leaves for the page after its redirect. */
export function Flash(props: { kind: "ok" | "error"; text: string }) {
  return (
    <div
      class={props.kind === "error" ? "flash error" : "flash"}
      role={props.kind === "error" ? "alert" : "status"}
    >
      {props.text}
    </div>
  );
}

/** A secret shown once (a new admin token or client secret), in a modal dialog the script opens. */
export function SecretDialog(props: { title: string; label: string; value: string; note?: string }) {
  return (
    <dialog open data-modal aria-labelledby="secret-title" id="secret-dialog">
      <h2 id="secret-title">{props.title}</h2>
      <p>{props.label}</p>
      <code class="secret" id="secret-value">{props.value}</code>
      <p class="warning">{props.note ?? "Store it now: it is not shown again."}</p>
      <div class="actions">
        <button type="button" class="secondary" data-copy="secret-value">Copy</button>
        <button type="button" data-close>Done</button>
      </div>
    </dialog>
  );
}

/** A labelled text input. */
export function Field(
  props: {
    label: string;
    name: string;
    value?: string | number | null;
    hint?: string;
    type?: string;
    required?: boolean;
    maxlength?: number;
  },
) {
  return (
    <label>
      {props.label}
      {props.hint && <span class="hint">{props.hint}</span>}
      <input
        type={props.type ?? "text"}
        name={props.name}
        value={props.value ?? ""}
        required={props.required}
        maxlength={props.maxlength ?? 2048}
      />
    </label>
  );
}

/** A labelled select. */
export function Select(
  props: { label: string; name: string; options: readonly string[]; value?: string; hint?: string },
) {
  return (
    <label>
      {props.label}
      {props.hint && <span class="hint">{props.hint}</span>}
      <select name={props.name}>
        {props.options.map((o) => (
          <option value={o} selected={o === props.value}>{o === "" ? "(any)" : o}</option>
        ))}
      </select>
    </label>
  );
}
