/** The `dci-server` command tree. Areas add their groups here. */
import type { CommandTree } from "./cli.ts";
import { serveCommand } from "./serve.ts";
import { systemCommands } from "./system.ts";

/** Every command of the binary. */
export const COMMANDS: CommandTree = {
  serve: serveCommand,
  ...systemCommands,
};
