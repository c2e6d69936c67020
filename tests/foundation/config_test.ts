import { deepEqual, equal, match, throws } from "node:assert/strict";
import { ConfigError, loadConfig, SETTINGS, testConfig } from "../../src/config.ts";
import { withoutDatabaseUrl } from "../../src/deps.ts";

Deno.test("loadConfig() applies the documented defaults", () => {
  const c = loadConfig({}, {});
  equal(c.port, 8080);
  equal(c.host, "127.0.0.1");
  equal(c.dataDir, "./data");
  equal(c.signaturePolicy, "required");
  deepEqual(c.callbackRetryDelaysMs, [60000, 120000, 240000]);
  equal(c.rateLimitMinute, 60);
  equal(c.rateLimitDay, 10000);
  equal(c.worker, true);
  deepEqual(c.outboundAllow, []);
});

Deno.test("loadConfig() lets flags override environment variables", () => {
  const c = loadConfig({ port: "9001", "data-dir": "/tmp/x" }, { DCI_PORT: "9000", DCI_HOST: "0.0.0.0" });
  equal(c.port, 9001);
  equal(c.host, "0.0.0.0");
  equal(c.dataDir, "/tmp/x");
});

Deno.test("loadConfig() rejects an invalid value naming the variable", () => {
  throws(
    () => loadConfig({}, { DCI_PORT: "http" }),
    (e: Error) => e instanceof ConfigError && /DCI_PORT="http"/.test(e.message),
  );
  throws(() => loadConfig({ port: "70000" }, {}), (e: Error) => /--port="70000"/.test(e.message));
  throws(() => loadConfig({}, { DCI_SIGNATURE_POLICY: "maybe" }), /DCI_SIGNATURE_POLICY/);
  throws(() => loadConfig({}, { DCI_SENDER_ID: "bad id!" }), /DCI_SENDER_ID/);
  throws(() => loadConfig({}, { DCI_CALLBACK_RETRY_DELAYS_MS: "1,x" }), /DCI_CALLBACK_RETRY_DELAYS_MS/);
  throws(() => loadConfig({}, { DCI_ADMIN_TOKEN: "short" }), /DCI_ADMIN_TOKEN/);
  // As an Authorization header carries it: printable ASCII without spaces, at most 512 (never echoed).
  throws(
    () => loadConfig({}, { DCI_ADMIN_TOKEN: "a passphrase with spaces in it" }),
    /DCI_ADMIN_TOKEN=\[redacted\]: an admin token is printable ASCII without spaces/,
  );
  throws(
    () => loadConfig({}, { DCI_ADMIN_TOKEN: "x".repeat(513) }),
    /DCI_ADMIN_TOKEN=\[redacted\]: .*at most 512/,
  );
  equal(loadConfig({}, { DCI_ADMIN_TOKEN: "x".repeat(512) }).adminToken.length, 512);
  throws(() => loadConfig({}, { DCI_PUBLIC_URL: "ftp://x" }), /DCI_PUBLIC_URL/);
});

Deno.test("loadConfig() parses lists and booleans", () => {
  const c = loadConfig({}, {
    DCI_OUTBOUND_ALLOW: "127.0.0.1, 10.0.0.0/8 ,",
    DCI_WORKER: "false",
    DCI_SEED_DEMO: "0",
  });
  deepEqual(c.outboundAllow, ["127.0.0.1", "10.0.0.0/8"]);
  equal(c.worker, false);
  equal(c.seedDemo, false);
});

Deno.test(".env.example and the README list every setting with its default", async () => {
  const example = await Deno.readTextFile(new URL("../../.env.example", import.meta.url));
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  for (const s of SETTINGS) {
    match(
      example,
      new RegExp(`^#? ?${s.env}=${escape(s.default)}$`, "m"),
      `${s.env} missing from .env.example`,
    );
    match(readme, new RegExp(`\\| \`${s.env}\``), `${s.env} missing from README`);
  }
});

Deno.test("testConfig() keeps everything in memory with the worker off", () => {
  const c = testConfig({ maxPageSize: "7" });
  equal(c.dataDir, ":memory:");
  equal(c.worker, false);
  equal(c.maxPageSize, 7);
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

Deno.test("loadConfig() refuses scheduled SQLite backups with a PostgreSQL database, naming both settings", () => {
  const env = { DCI_DATABASE_URL: "postgres://u:p@127.0.0.1:5432/dci", DCI_BACKUP_CRON: "0 2 * * *" };
  throws(() => loadConfig({}, env), /DCI_BACKUP_CRON is set with DCI_DATABASE_URL.*pg_dump/s);
  // Either alone is fine.
  loadConfig({}, { DCI_DATABASE_URL: env.DCI_DATABASE_URL });
  loadConfig({}, { DCI_BACKUP_CRON: env.DCI_BACKUP_CRON });
});

Deno.test("loadConfig() refuses a DCI_DATABASE_URL the driver cannot parse without repeating it; a driver error never shows it", () => {
  for (
    const url of [
      "postgres://dci:ab/cd@db:5432/dci",
      "postgres://dci:pa#ss@db/dci",
      "postgres://dci:a?b@db/dci",
    ]
  ) {
    throws(
      () => loadConfig({}, { DCI_DATABASE_URL: url }),
      (e: Error) =>
        e instanceof ConfigError && /DCI_DATABASE_URL/.test(e.message) && /percent-encode/.test(e.message) &&
        !e.message.includes("ab/cd") && !e.message.includes("pa#ss") && !e.message.includes("a?b"),
      url,
    );
  }
  // Percent-encoded, and a socket directory named by ?host=: fine.
  loadConfig({}, { DCI_DATABASE_URL: "postgres://dci:ab%2Fcd@db:5432/dci" });
  loadConfig({}, { DCI_DATABASE_URL: "postgresql://dci@/dci?host=/run/postgresql" });
  const url = "postgres://dci:s3cr%2Fet-pw@db.internal:5432/dci";
  const err = withoutDatabaseUrl(
    Object.assign(new Error(`Invalid URL: '${url}' and again s3cr/et-pw`), { code: "ERR_INVALID_URL" }),
    url,
  ) as Error & { code: string };
  equal(err.message, "Invalid URL: '[redacted]' and again [redacted]");
  equal(err.code, "ERR_INVALID_URL");
  const other = new Error("connect ECONNREFUSED 127.0.0.1:5432");
  equal(withoutDatabaseUrl(other, url), other);
});

Deno.test("loadConfig() refuses an empty or blank numeric setting naming it, rather than reading it as 0", () => {
  for (const [env, value] of [["DCI_PORT", ""], ["DCI_KEY_PUBLISH_SECONDS", ""], ["DCI_PORT", "  "]]) {
    throws(
      () => loadConfig({}, { [env]: value }),
      (e: Error) =>
        e instanceof ConfigError &&
        e.message.includes(`${env}=${JSON.stringify(value)}: empty: remove the line or give a number`),
    );
  }
  throws(() => loadConfig({ port: "" }, {}), /--port="": empty: remove the line or give a number/);
  // A number with spaces around it is still a number; 0 is still 0 where it is allowed.
  equal(loadConfig({}, { DCI_PORT: " 8081 " }).port, 8081);
  equal(loadConfig({}, { DCI_KEY_PUBLISH_SECONDS: "0" }).keyPublishSeconds, 0);
});

Deno.test("loadConfig() dry-runs DCI_BACKUP_CRON: a field out of range or a weekday Deno.cron refuses is refused naming it", () => {
  for (
    const [expr, why] of [
      ["61 3 * * *", /minute: 61/],
      ["0 24 * * *", /hour: 24/],
      ["0 3 32 * *", /day/],
      ["*/0 * * * *", /stepping/],
      ["0 3 * * 0", /day of week is 1-7/],
      ["0 3 * * 1,8", /day of week is 1-7/],
    ] as const
  ) {
    throws(
      () => loadConfig({}, { DCI_BACKUP_CRON: expr }),
      (e: Error) =>
        e instanceof ConfigError && e.message.includes(`DCI_BACKUP_CRON="${expr}"`) && why.test(e.message),
      expr,
    );
  }
  // What it accepts, Deno.cron registers (the schedules start only after the config was validated).
  for (const expr of ["0 3 * * *", "*/15 * * * *", "0 3 * * 1-5", "0 3 * * 7", "30 2 1,15 */2 *"]) {
    equal(loadConfig({}, { DCI_BACKUP_CRON: expr }).backupCron, expr);
    const abort = new AbortController();
    Deno.cron(`config-test-${crypto.randomUUID()}`, expr, { signal: abort.signal }, () => {});
    abort.abort();
  }
});
