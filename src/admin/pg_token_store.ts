/** The admin tokens in PostgreSQL: the statements of src/admin/tokens.ts, numbered, and the same checks. */
import type { PgPool } from "../db/pg/pool.ts";
import { pgAll, pgOne, pgRun, pgText, pgTransaction } from "../db/pg/query.ts";
import {
  ACTIVE_CLI_TOKEN,
  ACTIVE_ENV_ROWS,
  ACTIVE_LEGACY_TOKEN,
  ACTIVE_ROLE,
  type AdminRole,
  type AdminTokenInfo,
  type AdminTokenRow,
  envTokenRevoked,
  envTokenState,
  GET_TOKEN,
  INSERT_TOKEN,
  LEGACY_IDS,
  newAdminToken,
  newTokenId,
  REVOKE_TOKEN,
  REVOKED_ENV_ROWS,
  tokenCheck,
  tokenLookup,
  tokenValues,
  TOUCH,
} from "./tokens.ts";
import type { AdminTokenStore } from "./token_store.ts";

const INFO_COLUMNS = "id, name, role, source, created_at, last_used_at, revoked_at";
// PostgreSQL has no rowid: a tie of creation times (the same millisecond) is broken by id instead.
const LIST_TOKENS = `SELECT ${INFO_COLUMNS} FROM admin_tokens ORDER BY created_at DESC, id DESC`;
const ACTIVE_ENV_TOKEN = `SELECT * FROM admin_tokens WHERE source = 'env' AND revoked_at IS NULL
  ORDER BY created_at DESC, id DESC LIMIT 1`;

/** The admin tokens in the PostgreSQL database behind `pool`. */
export function pgAdminTokenStore(pool: PgPool): AdminTokenStore {
  const revoke = (id: string, now = new Date().toISOString()) =>
    pgRun(pool, pgText(REVOKE_TOKEN), [now, id]).then((n) => n > 0);
  const find = async (token: string, options: { envToken?: string } = {}) => {
    const at = tokenLookup(token, options.envToken);
    if (at === undefined) return undefined;
    const row = at.by === "env"
      ? await pgOne<AdminTokenRow>(pool, ACTIVE_ENV_TOKEN)
      : at.by === "id"
      ? await pgOne<AdminTokenRow>(pool, pgText(ACTIVE_CLI_TOKEN), [at.id])
      : await pgOne<AdminTokenRow>(pool, pgText(ACTIVE_LEGACY_TOKEN), [at.key]);
    return tokenCheck(row, token, { by: at.by });
  };
  return {
    async create(options) {
      const { id, token } = newAdminToken();
      await pgRun(pool, pgText(INSERT_TOKEN), await tokenValues(id, token, { ...options, source: "cli" }));
      return { token, info: (await pgOne<AdminTokenInfo>(pool, pgText(GET_TOKEN), [id]))! };
    },
    get: (id) => pgOne<AdminTokenInfo>(pool, pgText(GET_TOKEN), [id]),
    list: () => pgAll<AdminTokenInfo>(pool, LIST_TOKENS),
    revoke,
    find,
    verify: async (token, options) => await (await find(token, options))?.verify(),
    activeRole: async (id) => (await pgOne<{ role: AdminRole }>(pool, pgText(ACTIVE_ROLE), [id]))?.role,
    touch: async (id, now) => void await pgRun(pool, pgText(TOUCH), [now, id]),
    ensureEnv: (token, now = new Date().toISOString()) =>
      pgTransaction(pool, async (c) => {
        // Instances starting at once take turns (readers are not held up), so the token is registered once.
        await c.query("LOCK TABLE admin_tokens IN SHARE ROW EXCLUSIVE MODE");
        const state = await envTokenState(await pgAll<AdminTokenRow>(c, ACTIVE_ENV_ROWS), token);
        if (!state.current && await envTokenRevoked(await pgAll<AdminTokenRow>(c, REVOKED_ENV_ROWS), token)) {
          return "revoked";
        }
        for (const id of state.replaced) await pgRun(c, pgText(REVOKE_TOKEN), [now, id]);
        if (state.current) return "current";
        const values = await tokenValues(newTokenId(), token, {
          role: "admin",
          name: "DCI_ADMIN_TOKEN",
          now,
          source: "env",
        });
        await pgRun(c, pgText(INSERT_TOKEN), values);
        return "registered";
      }),
    legacyIds: async () => (await pgAll<{ id: string }>(pool, LEGACY_IDS)).map((r) => r.id),
  };
}
