/** Finding the live DR persons that hold an identifier (the DR-specific endpoints answer about one person). */
import type { Deps } from "../../../deps.ts";
import type { Registrant } from "../../../registry/model.ts";
import type { IdQuery } from "./criteria.ts";
import { DR_PERSON } from "../record_types.ts";

/** Live DR persons holding the identifier, at most `limit` (the store, or a test's records). */
export type PersonFinder = (deps: Pick<Deps, "storage">, id: IdQuery, limit: number) => Promise<Registrant[]>;

/** The store's finder: live `dr_person` rows by identifier (type and value, or value under any type), by row id. */
export const storeFinder: PersonFinder = (deps, id, limit) =>
  deps.storage.registry.findByIdentifier(id, DR_PERSON, limit);
