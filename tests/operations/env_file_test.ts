import { equal, match, rejects } from "node:assert/strict";
import { ConfigError, loadConfig, withEnvFile } from "../../src/config.ts";
import { LOOPBACK_ONLY, RUN_FLAGS } from "../helpers/runtime.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** Runs `main.ts args` with `cwd` as working directory; exit code and stderr. */
async function cliIn(cwd: string, args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--config", `${ROOT}deno.json`, ...LOOPBACK_ONLY, ...RUN_FLAGS, `${ROOT}main.ts`, ...args],
    cwd,
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("withEnvFile() reads KEY=VALUE lines (comments, quotes) under the real environment, which wins", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dci-env-" });
  try {
    await Deno.writeTextFile(
      `${dir}/.env`,
      '# a comment\nDCI_PORT=9123\nDCI_SENDER_ID="from-file"\nDCI_LOG_LEVEL=debug\n\nDCI_MAX_PAGE_SIZE=50 # trailing\n',
    );
    const env = await withEnvFile({ DCI_LOG_LEVEL: "warn" }, `${dir}/.env`, { required: false });
    const cfg = loadConfig({}, env);
    equal(cfg.port, 9123);
    equal(cfg.senderId, "from-file");
    equal(cfg.maxPageSize, 50);
    equal(cfg.logLevel, "warn"); // the real environment over the file
    // A flag still wins over both.
    equal(loadConfig({ "log-level": "error" }, env).logLevel, "error");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("withEnvFile() ignores a missing ./.env but refuses a missing --env-file, naming it", async () => {
  const env = { DCI_PORT: "1" };
  equal(await withEnvFile(env, "/nonexistent-dir/.env", { required: false }), env);
  await rejects(
    () => withEnvFile(env, "/nonexistent-dir/prod.env", { required: true }),
    (e: unknown) =>
      e instanceof ConfigError && /Cannot read the env file \/nonexistent-dir\/prod\.env/.test(e.message),
  );
});

Deno.test("dci-server reads ./.env from its working directory and --env-file, the real environment winning", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dci-env-cli-" });
  try {
    // Two bad values, so that the refusal names which of them reached the configuration.
    await Deno.writeTextFile(`${dir}/.env`, "DCI_LOG_LEVEL=loud\nDCI_SIGNATURE_POLICY=sometimes\n");
    const fromDotenv = await cliIn(dir, ["migrate"]);
    equal(fromDotenv.code, 2);
    match(fromDotenv.stderr, /DCI_LOG_LEVEL="loud"/);
    match(fromDotenv.stderr, /DCI_SIGNATURE_POLICY="sometimes"/);

    const overridden = await cliIn(dir, ["migrate"], { DCI_LOG_LEVEL: "error" });
    equal(overridden.code, 2);
    equal(/DCI_LOG_LEVEL/.test(overridden.stderr), false, overridden.stderr);
    match(overridden.stderr, /DCI_SIGNATURE_POLICY="sometimes"/);

    await Deno.writeTextFile(`${dir}/other.env`, "DCI_MAX_PAGE_SIZE=many\n");
    const named = await cliIn(dir, ["migrate", "--env-file", `${dir}/other.env`]);
    equal(named.code, 2);
    match(named.stderr, /DCI_MAX_PAGE_SIZE="many"/);
    equal(/DCI_LOG_LEVEL/.test(named.stderr), false, "--env-file replaces ./.env");

    const missing = await cliIn(dir, ["migrate", "--env-file", `${dir}/absent.env`]);
    equal(missing.code, 2);
    match(missing.stderr, /Cannot read the env file .*absent\.env/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
