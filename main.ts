/** dci-server: the DCI registry API server and its operator CLI, in one binary. */
import { runCli } from "./src/cli/cli.ts";
import { COMMANDS } from "./src/cli/commands.ts";

if (import.meta.main) {
  Deno.exit(await runCli(Deno.args, COMMANDS));
}
