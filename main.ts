/** dci-server: the DCI registry API server and its operator CLI, in one binary. */
import { preloadHttpIsolates } from "./src/http_isolate_preload.ts";

if (import.meta.main) {
  // Serving: the HTTP isolates load their module graph while this isolate loads the CLI's and opens the database.
  preloadHttpIsolates(Deno.args);
  const [{ runCli }, { COMMANDS }] = await Promise.all([
    import("./src/cli/cli.ts"),
    import("./src/cli/commands.ts"),
  ]);
  Deno.exit(await runCli(Deno.args, COMMANDS));
}
