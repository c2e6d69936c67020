/**
 * One throwaway PostgreSQL cluster for a whole test run (.ci/run): `start` prints `DCI_TEST_PG_URL=… DCI_TEST_PG_DIR=…`
 * lines for the shell to export and leaves the cluster running; `stop DIR` stops it and removes its directory.
 * Tests find it through DCI_TEST_PG_URL (tests/helpers/postgres.ts `sharedPostgres`).
 *
 *   deno run -A tests/helpers/pg_cluster.ts start
 *   deno run -A tests/helpers/pg_cluster.ts stop /tmp/dci-pg-XXXX
 */
import { SHARED_PG_ENV, startPostgres, stopPostgresDir } from "./postgres.ts";

const [command, dir] = Deno.args;
if (command === "start") {
  const cluster = await startPostgres({ keep: true });
  console.log(`${SHARED_PG_ENV}=${cluster.url}`);
  console.log(`DCI_TEST_PG_DIR=${cluster.dir}`);
} else if (command === "stop" && dir) {
  stopPostgresDir(dir);
} else {
  console.error("usage: pg_cluster.ts start | stop DIR");
  Deno.exit(2);
}
