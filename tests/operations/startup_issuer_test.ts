/**
 * Instances on one PostgreSQL database without DCI_PUBLIC_URL each name their own address as their tokens' issuer,
 * so instances on other addresses refuse each other's tokens: the start says so, naming the setting.
 */
import assert from "node:assert/strict";
import { STARTUP_TASKS } from "../../src/startup.ts";
import { testConfig } from "../../src/config.ts";
import { createLogger } from "../../src/obs/log.ts";
import type { Deps } from "../../src/deps.ts";

Deno.test("start-up warns when DCI_DATABASE_URL is set without DCI_PUBLIC_URL (token issuer per instance)", async () => {
  const task = STARTUP_TASKS.find((t) => t.name === "token issuer of an instance on a shared database")!;
  const cases: Array<[Record<string, string>, boolean]> = [
    [{ databaseUrl: "postgres://u:p@127.0.0.1:5432/dci", port: "8081" }, true],
    [{ databaseUrl: "postgres://u:p@127.0.0.1:5432/dci", publicUrl: "https://dci.example.org" }, false],
    [{}, false],
  ];
  for (const [overrides, warns] of cases) {
    const lines: Array<Record<string, unknown>> = [];
    const log = createLogger("info", { sink: (l) => lines.push(JSON.parse(l)) });
    await task.run({ config: testConfig(overrides), log } as unknown as Deps);
    const warning = lines.find((l) => l.level === "warn");
    assert.equal(warning !== undefined, warns, JSON.stringify(overrides));
    if (warns) {
      assert.match(String(warning!.msg), /DCI_PUBLIC_URL/);
      assert.match(String(warning!.msg), /:8081\)/);
      assert.doesNotMatch(JSON.stringify(warning), /u:p@/, "the database URL's password is not logged");
    }
  }
});
