/** One worker per SQLite data dir: a second server that would run it is refused; one without it starts. */
import { equal, match } from "node:assert/strict";
import { startServerProcess } from "../helpers/server.ts";

Deno.test("serve: a second server running the worker on one SQLite data dir is refused; one without it starts", async () => {
  const first = await startServerProcess();
  try {
    const second = await startServerProcess({ dataDir: first.dataDir }).then(
      async (s) => (await s.stop(), "started"),
      (err: Error) => err.message,
    );
    match(second, /another server runs the worker on the data dir .*DCI_WORKER=false/);
    const reader = await startServerProcess({ dataDir: first.dataDir, env: { DCI_WORKER: "false" } });
    equal(await reader.stop(), 0);
  } finally {
    await first.stop();
  }
  // Its lock ends with the process: the next server runs the worker again.
  const next = await startServerProcess({ dataDir: first.dataDir });
  equal(await next.stop(), 0);
});
