/** DCI_DATABASE_URL: validated with its value redacted, and refused while the PostgreSQL port is incomplete. */
import { equal, match, ok, rejects, throws } from "node:assert/strict";
import { ConfigError, testConfig } from "../../src/config.ts";
import { closeDeps, openDeps } from "../../src/deps.ts";

Deno.test("DCI_DATABASE_URL: a value that is not a postgres:// URL is refused, and the error never shows it", () => {
  throws(() => testConfig({ databaseUrl: "mysql://root:hunter2@db/x" }), ConfigError);
  try {
    testConfig({ databaseUrl: "mysql://root:hunter2@db/x" });
  } catch (e) {
    const text = String(e);
    match(text, /DCI_DATABASE_URL=\[redacted\]/);
    ok(!text.includes("hunter2"));
  }
  equal(
    testConfig({ databaseUrl: "postgres://u:p@127.0.0.1:5432/dci" }).databaseUrl,
    "postgres://u:p@127.0.0.1:5432/dci",
  );
  equal(testConfig().databaseUrl, "");
});

Deno.test("openDeps: the embedded default serves the stores through deps.storage; a PostgreSQL URL is refused for now", async () => {
  const deps = await openDeps(testConfig());
  try {
    equal(deps.storage.kind, "sqlite");
    const id = await deps.storage.audit.record({
      source: "cli",
      actor: { kind: "cli", id: "op" },
      action: "x.y",
    }, 0);
    equal((await deps.storage.audit.list()).items[0].id, id);
  } finally {
    closeDeps(deps);
  }
  await rejects(
    openDeps(testConfig({ databaseUrl: "postgres://u:secret@127.0.0.1:1/dci" })),
    (e: Error) => /PostgreSQL backend is not complete/.test(e.message) && !e.message.includes("secret"),
  );
});
