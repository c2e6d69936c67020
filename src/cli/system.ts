/** `dci-server migrate` and `dci-server keys …`. */
import { CliFailure, type Command, type CommandTree, UsageError } from "./cli.ts";
import { closeDeps, type Deps, openDeps, openStorage, requireDatabase } from "../deps.ts";
import { createLogger, silentLogger } from "../obs/log.ts";
import type { Config } from "../config.ts";
import { KeyError } from "../keys/server_keys.ts";
import { retireWarning, tokensValidUntil } from "../keys/retire_check.ts";

/**
 * Opens deps quietly for a CLI command, runs `fn`, and always closes them. A data dir without a database is
 * refused (a mistyped --data-dir would get a new, empty one) unless `create` (the data-loading commands).
 */
export async function withDeps<T>(
  config: Config,
  fn: (deps: Deps) => Promise<T> | T,
  options: { create?: boolean } = {},
): Promise<T> {
  if (!options.create) await requireDatabase(config);
  // A command never migrates a database that has data (a server of the previous version may serve it), nor
  // re-seals its secrets with this shell's key-encryption key settings (the server's may differ).
  const deps = await openDeps(config, { log: silentLogger, ensureKey: false, migrateOnOpen: "new" });
  try {
    return await fn(deps);
  } finally {
    await closeDeps(deps);
  }
}

const migrateCommand: Command = {
  summary: "Apply pending database migrations",
  examples: ["migrate --data-dir /var/lib/dci", "migrate --json"],
  async run({ config, print, err }) {
    const cfg = config();
    const opened = await openStorage(cfg, { migrate: true, log: createLogger(cfg.logLevel, { sink: err }) });
    try {
      const { applied, schemaVersion: version } = opened;
      print.done(
        applied.length ? `applied: ${applied.join(", ")}` : "database is up to date",
        { applied, schema_version: version },
        { more: [`schema version: ${version}`] },
      );
    } finally {
      await opened.close();
    }
  },
};

const keysList: Command = {
  summary: "List the server's signing keys",
  examples: ["keys list", "keys list --json"],
  run: ({ config, print }) =>
    withDeps(config(), async (deps) => {
      print.list(await deps.keys.list(), [
        "key_id",
        "alg",
        "status",
        "created_at",
        "signs_from",
        "retired_at",
        "kid",
      ]);
    }),
};

const keysRotate: Command = {
  summary:
    "Publish a new key that signs DCI_KEY_PUBLISH_SECONDS later (--now: at once); the old one stays published until retired",
  usage: "[--alg ed25519|rsa] [--now]",
  options: {
    alg: { type: "string", description: "ed25519 (default) or rsa (RSA-2048, rsa-sha256)" },
    now: {
      type: "boolean",
      description:
        "sign with the new key at once (the old key compromised); partners that cached the JWKS refetch it",
    },
  },
  examples: ["keys rotate", "keys rotate --alg rsa --json", "keys rotate --now"],
  run: ({ config, values, print }) => {
    const raw = String(values.alg ?? "ed25519").toLowerCase();
    const alg = raw === "ed25519"
      ? "ed25519"
      : raw === "rsa" || raw === "rsa-sha256"
      ? "rsa-sha256"
      : undefined;
    if (!alg) throw new UsageError(`--alg must be ed25519 or rsa, not "${values.alg}"`);
    return withDeps(config(), async (deps) => {
      let info;
      try {
        info = await deps.keys.rotate(alg, { now: values.now === true });
      } catch (e) {
        if (e instanceof KeyError) throw new CliFailure(e.message);
        throw e;
      }
      print.done(
        info.status === "active"
          ? `active key: ${info.key_id} (${info.alg}), kid ${info.kid}`
          : `next key: ${info.key_id} (${info.alg}), kid ${info.kid}, published now, signs from ${info.signs_from}`,
        info,
      );
      const old = values.now === true
        ? (await deps.keys.list()).filter((k) => k.status === "published" && k.key_id !== info.key_id)
        : [];
      for (const k of old) {
        print.note(
          `${k.key_id} no longer signs but is still published and still verifies the access tokens it signed: ` +
            `if it is compromised, retire it now (dci-server keys retire ${k.key_id} --force).`,
        );
      }
    });
  },
};

const keysRetire: Command = {
  summary:
    "Stop publishing a key that no longer signs (--force: while access tokens it signed are still valid)",
  usage: "KEY_ID [--force]",
  args: [1, 1],
  options: {
    force: {
      type: "boolean",
      description:
        "retire it though access tokens it signed are still valid (a compromised key): they fail at once",
    },
  },
  examples: ["keys retire k20260105-3fa9c2e1", "keys retire k20260105-3fa9c2e1 --force"],
  run: ({ config, positionals, values, print }) =>
    withDeps(config(), async (deps) => {
      try {
        const keys = await deps.keys.list();
        const key = keys.find((k) => k.key_id === positionals[0]);
        const until = tokensValidUntil(keys, deps.config.tokenTtlSeconds).get(positionals[0]);
        const warning = key && retireWarning(key, until, deps.clock.now());
        if (warning && values.force !== true) {
          throw new CliFailure(
            `${warning} Pass --force to retire it anyway (a compromised key), or wait until then.`,
          );
        }
        const info = await deps.keys.retire(positionals[0]);
        print.done(`retired: ${info.key_id}`, info);
      } catch (e) {
        if (e instanceof KeyError) throw new CliFailure(e.message);
        throw e;
      }
    }),
};

/** The system commands. */
export const systemCommands: CommandTree = {
  migrate: migrateCommand,
  keys: { list: keysList, rotate: keysRotate, retire: keysRetire },
};
