/** Work done once when `serve` starts, after migrations and before listening (admin token, demo data, ...). */
import type { Deps } from "./deps.ts";
import { registryStartup } from "./registry/startup.ts";
import { locationsStartup } from "./locations/demo.ts";
import { publicBaseUrl } from "./config.ts";

/** One start-up task. */
export interface StartupTask {
  name: string;
  run(deps: Deps): Promise<void> | void;
}

/** Start-up tasks in order. Areas append theirs here. */
export const STARTUP_TASKS: readonly StartupTask[] = [
  {
    name: "token issuer of an instance on a shared database",
    run: (deps) => {
      if (!deps.config.databaseUrl || deps.config.publicUrl) return;
      // The issuer of this instance's tokens is then its own address: instances on other addresses or ports
      // behind one load balancer refuse each other's tokens (401 "access token issuer is not this server").
      deps.log.warn(
        "DCI_DATABASE_URL without DCI_PUBLIC_URL: this instance's access tokens name its own address as issuer " +
          `(${
            publicBaseUrl(deps.config)
          }); set DCI_PUBLIC_URL to the address partners use on every instance, ` +
          "or instances behind one load balancer refuse each other's tokens",
      );
    },
  },
  {
    name: "admin token from DCI_ADMIN_TOKEN",
    run: async (deps) => {
      if (!deps.config.adminToken) return;
      const outcome = await deps.storage.adminTokens.ensureEnv(
        deps.config.adminToken,
        new Date(deps.clock.now()).toISOString(),
      );
      if (outcome === "registered") deps.log.info("admin token from DCI_ADMIN_TOKEN registered");
      if (outcome === "revoked") {
        deps.log.error(
          "DCI_ADMIN_TOKEN was revoked and is not accepted: set a new token, or remove the setting",
        );
      }
    },
  },
  {
    name: "admin tokens in the legacy format",
    run: async (deps) => {
      const ids = await deps.storage.adminTokens.legacyIds();
      if (ids.length === 0) return;
      deps.log.warn(
        "admin tokens in the old format (no id in the token) are still accepted: create new ones with `dci-server admin-token create` and revoke these",
        { admin_token_ids: ids },
      );
    },
  },
  // Before the registry's: the demo hierarchy goes only into a data dir whose registry is still empty.
  { name: "locations: seed the demo place hierarchy", run: locationsStartup },
  { name: "registry: finish bulk loads, seed the demo registry", run: registryStartup },
];

/**
 * Runs every start-up task in order, as one exclusive section: instances started together on one PostgreSQL
 * database take turns, so the demo data is seeded (and DCI_ADMIN_TOKEN registered) by the first, once.
 */
export async function runStartupTasks(deps: Deps): Promise<void> {
  await deps.storage.exclusive("startup", async () => {
    for (const task of STARTUP_TASKS) await task.run(deps);
  });
}
