/** `dci-server serve`: open everything, listen, and shut down cleanly on SIGINT/SIGTERM. */
import type { Command } from "./cli.ts";
import { closeDeps, openDeps } from "../deps.ts";
import { startServer } from "../server.ts";
import { runStartupTasks } from "../startup.ts";
import { startBackground } from "../jobs/background.ts";

/** The serve command (the default). */
export const serveCommand: Command = {
  summary: "Run the DCI API server (default command)",
  async run({ config }) {
    const cfg = config();
    const deps = await openDeps(cfg);
    let stopping: Promise<void> | undefined;
    try {
      await runStartupTasks(deps);
      const server = startServer(deps);
      const background = cfg.worker ? startBackground(deps) : undefined;
      const stop = (signal: string) => {
        stopping ??= (async () => {
          deps.log.info("shutting down", { signal, bound_ms: cfg.shutdownTimeoutMs });
          await server.shutdown();
          await background?.stop();
          closeDeps(deps);
          deps.log.info("stopped");
        })();
      };
      const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
      const handlers = signals.map((s) => [s, () => stop(s)] as const);
      for (const [s, h] of handlers) Deno.addSignalListener(s, h);
      await server.finished;
      await stopping;
      for (const [s, h] of handlers) Deno.removeSignalListener(s, h);
      return 0;
    } finally {
      if (!stopping) closeDeps(deps);
    }
  },
};
