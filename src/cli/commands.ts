/** The `dci-server` command tree. Areas add their groups here. */
import type { CommandTree } from "./cli.ts";
import { serveCommand } from "./serve.ts";
import { registryCommands } from "./registry.ts";
import { systemCommands } from "./system.ts";
import { adminTokenCommands } from "./admin_tokens.ts";
import { transactionCommands } from "./transactions.ts";
import { authCommands } from "./auth.ts";
import { subscriptionCommands } from "./subscriptions.ts";
import { backupCommands } from "./backup.ts";
import { locationCommands } from "./locations.ts";
import { healthcheckCommands } from "./healthcheck.ts";
import { auditCommands, auditedCommands } from "./audit.ts";

/** Every command of the binary; the write commands record themselves in the audit log (src/cli/audit.ts). */
export const COMMANDS: CommandTree = auditedCommands({
  serve: serveCommand,
  registry: { ...registryCommands, ...locationCommands },
  ...systemCommands,
  ...authCommands,
  ...adminTokenCommands,
  txn: transactionCommands,
  ...subscriptionCommands,
  ...backupCommands,
  ...healthcheckCommands,
  ...auditCommands,
});
