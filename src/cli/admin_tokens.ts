/** `dci-server admin-token create|list|revoke`. */
import { CliFailure, type Command, type CommandTree, table, UsageError } from "./cli.ts";
import { withDeps } from "./system.ts";
import { type AdminRole, createAdminToken, listAdminTokens, revokeAdminToken } from "../admin/tokens.ts";

const create: Command = {
  summary: "Create an admin API token (printed once; only its hash is stored)",
  usage: "--role admin|viewer [--name NAME]",
  options: {
    role: { type: "string", description: "admin (full access) or viewer (read only)" },
    name: { type: "string", description: "A label for the token" },
  },
  run: ({ config, values, out }) => {
    const role = values.role;
    if (role !== "admin" && role !== "viewer") throw new UsageError(`--role must be admin or viewer`);
    return withDeps(config(), async (deps) => {
      const { token, info } = await createAdminToken(deps.db, {
        role: role as AdminRole,
        name: values.name as string | undefined,
        now: new Date(deps.clock.now()).toISOString(),
      });
      out(
        `id:    ${info.id}\nrole:  ${info.role}\ntoken: ${token}\n\nStore the token now: it is not shown again.`,
      );
    });
  },
};

const list: Command = {
  summary: "List admin tokens (never their secrets)",
  run: ({ config, out }) =>
    withDeps(config(), (deps) => {
      out(table(listAdminTokens(deps.db) as unknown as Record<string, unknown>[], [
        "id",
        "name",
        "role",
        "source",
        "created_at",
        "revoked_at",
      ]));
    }),
};

const revoke: Command = {
  summary: "Revoke an admin token at once",
  usage: "ID",
  args: [1, 1],
  run: ({ config, positionals, out }) =>
    withDeps(config(), (deps) => {
      if (!revokeAdminToken(deps.db, positionals[0], new Date(deps.clock.now()).toISOString())) {
        throw new CliFailure(`No active admin token "${positionals[0]}"`);
      }
      out(`revoked: ${positionals[0]}`);
    }),
};

/** The admin-token command group. */
export const adminTokenCommands: CommandTree = { "admin-token": { create, list, revoke } };
