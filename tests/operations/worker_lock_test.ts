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

Deno.test("serve: a DCI_WORKER=false server says so when no server runs the worker on its data dir, and that DCI_BACKUP_CRON does nothing there", async () => {
  const first = await startServerProcess();
  const dataDir = first.dataDir;
  const noWorker = (logs: Record<string, unknown>[]) =>
    logs.some((l) => /no server runs the worker on this data dir/.test(String(l.msg)));
  try {
    const beside = await startServerProcess({ dataDir, env: { DCI_WORKER: "false" } });
    equal(await beside.stop(), 0);
    equal(noWorker(beside.logs), false, "a worker runs beside it");
  } finally {
    await first.stop();
  }
  const alone = await startServerProcess({
    dataDir,
    env: { DCI_WORKER: "false", DCI_BACKUP_CRON: "0 3 * * *" },
  });
  equal(await alone.stop(), 0);
  equal(noWorker(alone.logs), true);
  equal(alone.logs.some((l) => /DCI_BACKUP_CRON does nothing/.test(String(l.msg))), true);
});

Deno.test("serve: a worker lock file it cannot use stops the start naming it, rather than running the worker without it", async () => {
  const first = await startServerProcess();
  await first.stop();
  // Something in the way of the lock file (a dir: even root cannot open it as a database).
  await Deno.remove(`${first.dataDir}/worker.lock`);
  await Deno.mkdir(`${first.dataDir}/worker.lock`);
  const refused = await startServerProcess({ dataDir: first.dataDir }).then(
    async (s) => (await s.stop(), "started"),
    (err: Error) => err.message,
  );
  match(refused, /the worker's lock file .*worker\.lock cannot be used/);
  // Without the worker the lock is not needed.
  const reader = await startServerProcess({ dataDir: first.dataDir, env: { DCI_WORKER: "false" } });
  equal(await reader.stop(), 0);
});
