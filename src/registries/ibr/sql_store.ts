/**
 * The IbrStore of a running server: reads through the identifiers table (bound parameters only; the storage
 * record types are constants of this folder) and writes through the registry store's `saveRegistrant`, each
 * record in its own transaction, then wakes the notifier so subscribers hear of the change.
 */
import type { Deps } from "../../deps.ts";
import { transaction } from "../../db/sqlite.ts";
import { stmt } from "../../db/statements.ts";
import { InputError, readRegistrant, type Registrant } from "../../registry/model.ts";
import { fromRow, getRegistrant, saveRegistrant } from "../../registry/store.ts";
import { wakeNotifier } from "../../subscriptions/notifier.ts";
import { isoNow } from "../../clock.ts";
import { IBR_RECORD_TYPES } from "./record_types.ts";
import { ibrProfile } from "./index.ts";
import type { IbrStore, WriteResult } from "./store.ts";

const STORAGE = new Set(IBR_RECORD_TYPES.map((t) => t.storage));

// One statement per storage record type and typed/untyped lookup: the type list is never built from input.
const BY_VALUE = `SELECT r.id, d.data, r.deleted_at FROM identifiers i
  JOIN registrants r ON r.id = i.registrant_id JOIN registrant_data d ON d.id = r.id
  WHERE i.id_value = ? AND i.registry = 'ibr' AND i.live = 1 AND r.record_type = ? AND r.deleted_at IS NULL
  LIMIT ?+0`;
const BY_TYPED_VALUE = `SELECT r.id, d.data, r.deleted_at FROM identifiers i
  JOIN registrants r ON r.id = i.registrant_id JOIN registrant_data d ON d.id = r.id
  WHERE i.id_value = ? AND i.id_type = ? AND i.registry = 'ibr' AND i.live = 1 AND r.record_type = ?
  AND r.deleted_at IS NULL LIMIT ?+0`;

type Row = { id: number; data: string; deleted_at: string | null };

/** The IBR store over `deps.db`. */
export function ibrStore(deps: Deps): IbrStore {
  return {
    findByIdentifier(id, storage, limit) {
      const out: Registrant[] = [];
      for (const s of storage) {
        if (!STORAGE.has(s)) continue;
        const rows = (id.type === undefined
          ? stmt(deps.db, BY_VALUE).all(id.value, s, limit)
          : stmt(deps.db, BY_TYPED_VALUE).all(id.value, id.type, s, limit)) as Row[];
        out.push(...rows.map(fromRow));
      }
      return out.slice(0, limit);
    },
    getByExternalId(externalId, storage) {
      const reg = getRegistrant(deps.db, externalId, "ibr");
      return reg && !reg.deletedAt && storage.includes(String(reg.recordType)) ? reg : undefined;
    },
    put(raw): WriteResult {
      const now = isoNow(deps.clock);
      try {
        const reg = readRegistrant(raw, now, undefined, ibrProfile);
        const existed = getRegistrant(deps.db, reg.externalId, "ibr");
        transaction(deps.db, () => saveRegistrant(deps.db, reg, { mode: "upsert", now }));
        wakeNotifier(deps);
        return { ok: true, created: !existed || !!existed.deletedAt };
      } catch (e) {
        if (e instanceof InputError) return { ok: false, reason: e.message };
        throw e;
      }
    },
  };
}
