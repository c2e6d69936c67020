/** Reading the server's OpenAPI document in tests. */
import type { Json } from "../transactions/support.ts";

/** Follows local $refs of the OpenAPI document `doc` until a schema that is not one. */
export function resolve(doc: Json, schema: Json): Json {
  let s = schema;
  while (s?.$ref) s = s.$ref.split("/").slice(1).reduce((n: Json, k: string) => n[k], doc);
  return s;
}
