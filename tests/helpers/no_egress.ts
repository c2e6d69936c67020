/**
 * Keeping tests on this machine. Three layers: in-process clients resolve names with `offlineResolver` (never
 * DNS); server subprocesses run with network permission for loopback only (LOOPBACK_ONLY in runtime.ts); tests
 * that probe the SSRF guard end to end run inside a network namespace whose only interface is loopback
 * (`loopbackOnlyTest`), where a connect to anything else fails at once with "Network is unreachable".
 */
import assert from "node:assert/strict";

/** Set in the environment of a test run re-started inside the namespace. */
const INSIDE = "DCI_TEST_LOOPBACK_NETNS";

/**
 * A resolver that never sends a query: it answers from `names` (name → addresses), and fails every other name
 * as not found. The default answers nothing at all.
 */
export function offlineResolver(names: Record<string, string[]> = {}): (name: string) => Promise<string[]> {
  return (name) => {
    const found = names[name];
    if (found) return Promise.resolve(found);
    return Promise.reject(Object.assign(new Error(`${name}: not resolved (tests never query DNS)`), {
      code: "ENOTFOUND",
    }));
  };
}

/** True when this process runs inside the loopback-only namespace that `loopbackOnlyTest` started. */
export function insideLoopbackNetns(): boolean {
  return Deno.env.get(INSIDE) === "1";
}

/** The interfaces of this network namespace that are not loopback (none inside the namespace). */
export function nonLoopbackInterfaces(): string[] {
  return [...new Set(Deno.networkInterfaces().filter((i) => i.name !== "lo").map((i) => i.name))];
}

/** The argv running `argv` in a new user + network namespace, with its loopback interface brought up. */
export function inLoopbackNetns(argv: string[]): string[] {
  return ["unshare", "-rn", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", ...argv];
}

let available: boolean | undefined;

/** Whether `unshare -rn` works here (root, or unprivileged user namespaces allowed) and `ip` is installed. */
export function netnsAvailable(): boolean {
  if (insideLoopbackNetns()) return true;
  if (available === undefined) {
    const [cmd, ...args] = inLoopbackNetns(["true"]);
    try {
      available = new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).outputSync().success;
    } catch {
      available = false;
    }
  }
  return available;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/**
 * Declares a test whose body runs where nothing but loopback is reachable. Outside the namespace the test
 * re-runs itself inside one (`deno test --filter` on exactly this test of `file`) and passes when that run
 * passes; inside, it checks that no other interface exists and runs `fn`. Where `unshare -rn` is not
 * available the body runs here, and the servers it starts still reach nothing but loopback (LOOPBACK_ONLY);
 * with `netnsOnly` the test is ignored there instead (its body must not run outside a namespace). `ignore`
 * ignores it everywhere (as Deno.test's).
 */
export function loopbackOnlyTest(
  name: string,
  file: string | URL,
  fn: () => Promise<void>,
  options: { netnsOnly?: boolean; ignore?: boolean } = {},
): void {
  const ignore = options.ignore === true || (options.netnsOnly === true && !netnsAvailable());
  Deno.test({ name, ignore }, async () => {
    if (insideLoopbackNetns()) {
      assert.deepEqual(nonLoopbackInterfaces(), [], "the namespace has an interface other than loopback");
      return await fn();
    }
    if (!netnsAvailable()) {
      console.warn(`${name}: unshare -rn is not available; running with loopback-only server permissions`);
      return await fn();
    }
    const path = file instanceof URL ? file.pathname : new URL(file).pathname;
    const argv = inLoopbackNetns([
      Deno.execPath(),
      "test",
      "--allow-all",
      "--no-check",
      "--filter",
      `/^${escapeRegExp(name)}$/`,
      path,
    ]);
    const out = await new Deno.Command(argv[0], {
      args: argv.slice(1),
      env: { [INSIDE]: "1", NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, `the run inside the namespace failed:\n${text}`);
    assert.match(text, /ok \| 1 passed/, `the test did not run inside the namespace:\n${text}`);
  });
}
