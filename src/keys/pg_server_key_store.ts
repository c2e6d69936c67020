/**
 * The server keys in PostgreSQL: the statements of src/keys/server_key_store.ts, numbered. Writes that decide on
 * what they read (a first key at start, a rotation, sealing secrets) lock what they read, so instances starting
 * or rotating at once take turns. Sealing cannot zero old values as SQLite's secure_delete does: PostgreSQL keeps
 * the old row versions until VACUUM reclaims them.
 */
import type { PgPool } from "../db/pg/pool.ts";
import { pgAll, pgOne, pgRun, pgText, pgTransaction } from "../db/pg/query.ts";
import { sealChanges, SECRET_COLUMNS, selectSecrets, type StoredSecret, updateSecret } from "./at_rest.ts";
import {
  ACTIVE_EXISTS,
  ACTIVE_KEY,
  activeValues,
  DEMOTE_ACTIVE,
  INSERT_ACTIVE,
  INSERT_NEXT,
  KEY_BY_ID,
  type KeyRow,
  NEXT_DUE,
  NEXT_EXISTS,
  PROMOTE_NEXT,
  RETIRE_KEY,
  RETIRE_NEXT,
  type ServerKeyStore,
  VERIFIER,
} from "./server_key_store.ts";

// PostgreSQL has no rowid: within one creation time (the same millisecond) a waiting key is the newest, then the
// active key (a rotation makes the new key next or active), then key id. Key ids are random, so by id alone the
// key a rotation replaced could list as newer than its successor (the console then missed its "tokens stay valid"
// warning).
const NEWEST = "created_at DESC, (status = 'next') DESC, (status = 'active') DESC, key_id DESC";
const LIST = `SELECT * FROM server_keys ORDER BY ${NEWEST}`;
// The JWKS lists the signer first (a partner that takes the first key, not the kid's, still verifies).
const PUBLISHED = `SELECT key_id, alg, public_jwk FROM server_keys
  WHERE status IN ('next', 'active', 'published') ORDER BY (status = 'active') DESC, ${NEWEST}`;

/** The server keys in the PostgreSQL database behind `pool`. */
export function pgServerKeyStore(pool: PgPool): ServerKeyStore {
  return {
    active: () => pgOne<KeyRow>(pool, ACTIVE_KEY),
    get: (keyId) => pgOne<KeyRow>(pool, pgText(KEY_BY_ID), [keyId]),
    list: () => pgAll<KeyRow>(pool, LIST),
    published: () => pgAll<KeyRow>(pool, PUBLISHED),
    verifier: (keyId) => pgOne<KeyRow>(pool, pgText(VERIFIER), [keyId]),
    activate: (key, options = {}) =>
      pgTransaction(pool, async (c) => {
        // Writers take turns (readers, signing included, are not held up): one signer, however many rotate.
        await c.query("LOCK TABLE server_keys IN SHARE ROW EXCLUSIVE MODE");
        if (options.unlessActive && await pgOne(c, ACTIVE_EXISTS)) return false;
        await pgRun(c, pgText(RETIRE_NEXT), [key.created_at]);
        await pgRun(c, DEMOTE_ACTIVE);
        await pgRun(c, pgText(INSERT_ACTIVE), activeValues(key));
        return true;
      }),
    stage: (key) =>
      pgTransaction(pool, async (c) => {
        await c.query("LOCK TABLE server_keys IN SHARE ROW EXCLUSIVE MODE");
        if (await pgOne(c, NEXT_EXISTS)) return false;
        await pgRun(c, pgText(INSERT_NEXT), activeValues(key));
        return true;
      }),
    promoteDue: async (now) => {
      // A read first: once a second in every instance, and almost always nothing is due.
      if (!await pgOne(pool, pgText(NEXT_DUE), [now])) return false;
      return await pgTransaction(pool, async (c) => {
        await c.query("LOCK TABLE server_keys IN SHARE ROW EXCLUSIVE MODE");
        const due = await pgOne<{ key_id: string }>(c, pgText(NEXT_DUE), [now]);
        if (!due) return false;
        await pgRun(c, DEMOTE_ACTIVE);
        await pgRun(c, pgText(PROMOTE_NEXT), [now, due.key_id]);
        return true;
      });
    },
    retire: async (keyId, at) => await pgRun(pool, pgText(RETIRE_KEY), [at, keyId]) === 1,
    sealSecrets: (keks) =>
      pgTransaction(pool, async (c) => {
        const found: StoredSecret[] = [];
        for (const col of SECRET_COLUMNS) {
          const rows = await pgAll<{ id: string; value: string }>(c, `${selectSecrets(col)} FOR UPDATE`);
          found.push(...rows.map((r) => ({ col, ...r })));
        }
        const { changes, report } = sealChanges(found, keks);
        for (const { col, id, value } of changes) await pgRun(c, pgText(updateSecret(col)), [value, id]);
        return report;
      }),
  };
}
