/** The `dci-server` command tree. Areas add their groups here. */
import type { CommandTree } from "./cli.ts";
import { serveCommand } from "./serve.ts";
import { systemCommands } from "./system.ts";
import { adminTokenCommands } from "./admin_tokens.ts";

/** Every command of the binary. */
export const COMMANDS: CommandTree = {
  serve: serveCommand,
  ...systemCommands,
  ...adminTokenCommands,
};
