/**
 * The sender keys in PostgreSQL: the statements of key_store.ts, numbered. A key change locks the sender's row
 * first (`FOR UPDATE`), so two instances changing one sender's keys take turns and each bump of keys_version
 * commits with the keys it describes.
 */
import type { PgClient, PgPool } from "../db/pg/pool.ts";
import { pgAll, pgOne, pgRun, pgText, pgTransaction } from "../db/pg/query.ts";
import { noSuchSender } from "./errors.ts";
import {
  activeKeysOf,
  fetchedKey,
  type FetchedRow,
  fetchedValues,
  fetchStillCurrent,
  KEY_SQL,
  keyTaken,
  noSuchKey,
  type SenderKeyRow,
  type SenderKeyStore,
} from "./key_store.ts";

const LOCK_SENDER = "SELECT 1 AS one FROM senders WHERE sender_id = $1 FOR UPDATE";

/** The sender keys in the PostgreSQL database behind `pool`. */
export function pgSenderKeyStore(pool: PgPool): SenderKeyStore {
  /** Locks the sender's row for the rest of the transaction; throws not_found when there is none. */
  const lock = async (c: PgClient, senderId: string) => {
    if (!await pgOne(c, LOCK_SENDER, [senderId])) throw noSuchSender(senderId);
  };
  return {
    add: (senderId, key, now) =>
      pgTransaction(pool, async (c) => {
        await lock(c, senderId);
        if (await pgOne(c, pgText(KEY_SQL.keyExists), [senderId, key.keyId])) {
          throw keyTaken(senderId, key.keyId);
        }
        await pgRun(c, pgText(KEY_SQL.insert), [senderId, key.keyId, key.alg, key.jwk, key.source, now]);
        await pgRun(c, pgText(KEY_SQL.bump), [now, senderId]);
        return (await pgOne<SenderKeyRow>(c, pgText(KEY_SQL.get), [senderId, key.keyId]))!;
      }),
    remove: (senderId, keyId, now) =>
      pgTransaction(pool, async (c) => {
        await pgOne(c, LOCK_SENDER, [senderId]);
        const key = await pgOne<{ source: string }>(c, pgText(KEY_SQL.source), [senderId, keyId]);
        if (key?.source === "jwks") throw fetchedKey(senderId, keyId);
        if (await pgRun(c, pgText(KEY_SQL.remove), [senderId, keyId]) === 0) throw noSuchKey(senderId, keyId);
        await pgRun(c, pgText(KEY_SQL.bump), [now, senderId]);
      }),
    list: (senderId) =>
      pgAll<SenderKeyRow>(
        pool,
        `SELECT * FROM sender_keys WHERE sender_id = $1 ORDER BY created_at COLLATE "C", key_id COLLATE "C"`,
        [senderId],
      ),
    // One statement: the version and the keys come from one snapshot, so the cache never labels keys with a
    // version they are not at.
    active: async (senderId) => activeKeysOf(await pgAll(pool, pgText(KEY_SQL.active), [senderId])),
    recordFetch: (senderId, url, result, now, startedAt) =>
      pgTransaction(pool, async (c) => {
        await lock(c, senderId);
        const sender = await pgOne<FetchedRow>(c, pgText(KEY_SQL.jwksUrl), [senderId]);
        if (!sender || !fetchStillCurrent(sender, url, startedAt ?? now)) return;
        if (result.ok) {
          await pgRun(c, pgText(KEY_SQL.dropJwks), [senderId]);
          for (const k of result.keys) {
            await pgRun(c, pgText(KEY_SQL.insert), [senderId, k.keyId, k.alg, k.jwk, "jwks", now]);
          }
          await pgRun(c, pgText(KEY_SQL.bump), [now, senderId]);
        }
        await pgRun(c, pgText(KEY_SQL.fetched), fetchedValues(senderId, result, now));
      }),
    async dueForRefresh(cutoff) {
      const rows = await pgAll<{ sender_id: string }>(
        pool,
        `SELECT sender_id FROM senders WHERE active = 1 AND jwks_url IS NOT NULL
           AND (jwks_fetched_at IS NULL OR jwks_fetched_at <= $1) ORDER BY sender_id COLLATE "C"`,
        [cutoff],
      );
      return rows.map((r) => r.sender_id);
    },
  };
}
