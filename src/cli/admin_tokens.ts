/** `dci-server admin-token create|list|revoke`. */
import { CliFailure, type Command, type CommandTree, UsageError } from "./cli.ts";
import { withDeps } from "./system.ts";
import type { AdminRole } from "../admin/tokens.ts";

const create: Command = {
  summary: "Create an admin API token (printed once; only its hash is stored)",
  usage: "--role admin|viewer [--name NAME]",
  options: {
    role: { type: "string", description: "admin (full access) or viewer (read only)" },
    name: { type: "string", description: "A label for the token" },
  },
  examples: ["admin-token create --role admin --name ops", "admin-token create --role viewer --json"],
  run: ({ config, values, print }) => {
    const role = values.role;
    if (role !== "admin" && role !== "viewer") throw new UsageError(`--role must be admin or viewer`);
    return withDeps(config(), async (deps) => {
      const { token, info } = await deps.storage.adminTokens.create({
        role: role as AdminRole,
        name: values.name as string | undefined,
        now: new Date(deps.clock.now()).toISOString(),
      });
      print.done(`created admin token ${info.id} (${info.role})`, { ...info, token }, {
        secrets: { id: info.id, token },
      });
    });
  },
};

const list: Command = {
  summary: "List admin tokens (never their secrets)",
  examples: ["admin-token list", "admin-token list --json"],
  run: ({ config, print }) =>
    withDeps(config(), async (deps) => {
      print.list(await deps.storage.adminTokens.list(), [
        "id",
        "name",
        "role",
        "source",
        "created_at",
        "last_used_at",
        "revoked_at",
      ]);
    }),
};

const revoke: Command = {
  summary: "Revoke an admin token at once",
  usage: "ID",
  args: [1, 1],
  examples: ["admin-token revoke at_3f6c2a9e51d07b84"],
  run: ({ config, positionals, print }) =>
    withDeps(config(), async (deps) => {
      if (
        !(await deps.storage.adminTokens.revoke(positionals[0], new Date(deps.clock.now()).toISOString()))
      ) {
        throw new CliFailure(`No active admin token "${positionals[0]}"`);
      }
      print.done(`revoked admin token ${positionals[0]}`, { id: positionals[0], revoked: true });
    }),
};

/** The admin-token command group. */
export const adminTokenCommands: CommandTree = { "admin-token": { create, list, revoke } };
