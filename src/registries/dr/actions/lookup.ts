/** Finding the live DR persons that hold an identifier (the DR-specific endpoints answer about one person). */
import type { Deps } from "../../../deps.ts";
import type { Registrant } from "../../../registry/model.ts";
import { stmt } from "../../../db/statements.ts";
import type { IdQuery } from "./criteria.ts";
import { DR_PERSON } from "../record_types.ts";

/** Live DR persons holding the identifier, at most `limit` (the store, or a test's records). */
export type PersonFinder = (deps: Pick<Deps, "db">, id: IdQuery, limit: number) => Registrant[];

// The identifiers primary key leads with the value: both forms are one index lookup, then a row check.
const FROM = `FROM identifiers i JOIN registrants r ON r.id = i.registrant_id
  JOIN registrant_data d ON d.id = r.id
  WHERE i.id_value = ? AND i.live = 1 AND r.record_type = '${DR_PERSON}' AND r.deleted_at IS NULL`;
const SQL = {
  typed: `SELECT DISTINCT r.id, d.data ${FROM} AND i.id_type = ? ORDER BY r.id LIMIT ?+0`,
  any: `SELECT DISTINCT r.id, d.data ${FROM} ORDER BY r.id LIMIT ?+0`,
};

/** The store's finder: live `dr_person` rows by identifier (type and value, or value under any type). */
export const storeFinder: PersonFinder = (deps, id, limit) => {
  const rows =
    (id.type === undefined
      ? stmt(deps.db, SQL.any).all(id.value, limit)
      : stmt(deps.db, SQL.typed).all(id.value, id.type, limit)) as Array<{ data: string }>;
  return rows.map((r) => JSON.parse(r.data) as Registrant);
};
