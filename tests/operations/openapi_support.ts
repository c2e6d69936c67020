/** Reading the server's own OpenAPI document in tests: its operations, and real answers checked against it. */
import { newAjv, readable } from "../helpers/spec_validator.ts";
import type { ValidateFunction } from "ajv";

// deno-lint-ignore no-explicit-any
export type Json = any;

/** One operation of the document. */
export interface Operation {
  method: string;
  path: string;
  op: Json;
}

/** Every operation under `paths`, with its method (upper case) and path template. */
export function operations(doc: Json): Operation[] {
  return Object.entries(doc.paths as Record<string, Json>).flatMap(([path, item]) =>
    Object.entries(item as Record<string, Json>).map(([method, op]) => ({
      method: method.toUpperCase(),
      path,
      op,
    }))
  );
}

/** `/admin/v1/senders/{id}` → a pattern matching `/admin/v1/senders/s1`. */
function templatePattern(template: string): RegExp {
  const escaped = template.split(/\{[^}]+\}/).map((s) => s.replace(/[.*+?^$()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${escaped.join("[^/]+")}$`);
}

/** Checks answers against the response schemas of one document. */
export class AnswerChecker {
  #ajv;
  #fns = new Map<string, ValidateFunction>();
  constructor(readonly doc: Json) {
    this.#ajv = newAjv(doc, "server");
  }

  /** The path template of the document that `path` matches (a literal one wins over a templated one). */
  template(method: string, path: string): string | undefined {
    const candidates = operations(this.doc).filter((o) =>
      o.method === method && templatePattern(o.path).test(path)
    );
    return (candidates.find((c) => c.path === path) ?? candidates[0])?.path;
  }

  /**
   * The problems of a real answer: its status is not documented for the operation, or its JSON body does not
   * match the documented schema. Empty when it matches.
   */
  errors(
    method: string,
    path: string,
    status: number,
    body: unknown,
    mediaType = "application/json",
  ): string[] {
    const template = this.template(method, path);
    if (!template) return [`${method} ${path} is not in the document`];
    const responses = this.doc.paths[template][method.toLowerCase()].responses;
    const key = String(status) in responses ? String(status) : `${String(status)[0]}XX`;
    const response = responses[key];
    if (!response) return [`${method} ${template} documents no ${status} answer`];
    if (!response.content) return body === null ? [] : [`${method} ${template} ${status} documents no body`];
    if (!response.content[mediaType]) return [`${method} ${template} ${status} has no ${mediaType} body`];
    const pointer = [
      "paths",
      template,
      method.toLowerCase(),
      "responses",
      key,
      "content",
      mediaType,
      "schema",
    ]
      .map((s) => s.replaceAll("~", "~0").replaceAll("/", "~1")).join("/");
    let fn = this.#fns.get(pointer);
    if (!fn) this.#fns.set(pointer, fn = this.#ajv.compile({ $ref: `server#/${pointer}` }));
    return fn(body) ? [] : readable(fn.errors ?? [], `${method} ${path} ${status}`);
  }
}
