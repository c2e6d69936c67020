/**
 * `dci-server healthcheck`: GET /healthz of the server this configuration describes and exit 0 when it
 * answers 200, 1 otherwise. For container HEALTHCHECKs: the runtime image has no curl.
 */
import { CliFailure, type Command, type CommandTree } from "./cli.ts";
import type { Config } from "../config.ts";

/** How long the check waits for the answer. */
const TIMEOUT_MS = 5000;

/** The URL of /healthz on this machine: a wildcard bind address is reached through loopback. */
export function healthUrl(cfg: Config): string {
  const host = cfg.host === "0.0.0.0" ? "127.0.0.1" : cfg.host === "::" ? "::1" : cfg.host;
  const shown = host.includes(":") ? `[${host}]` : host;
  return `${cfg.tlsCert ? "https" : "http"}://${shown}:${cfg.port}/healthz`;
}

const healthcheckCommand: Command = {
  summary: "Exit 0 if the server on this machine answers GET /healthz with 200, else 1 (for HEALTHCHECK)",
  usage: "[--url URL]",
  examples: ["healthcheck", "healthcheck --url https://127.0.0.1:8443/healthz", "healthcheck --json"],
  options: {
    url: { type: "string", description: "Check this URL instead of http(s)://HOST:PORT/healthz" },
  },
  async run({ config, values, print }) {
    const cfg = config();
    const url = typeof values.url === "string" ? values.url : healthUrl(cfg);
    // With TLS the server's own certificate chain is trusted, so a private CA needs no system trust store.
    const client = cfg.tlsCert
      ? Deno.createHttpClient({ caCerts: [await Deno.readTextFile(cfg.tlsCert)] })
      : undefined;
    try {
      const res = await fetch(url, { client, signal: AbortSignal.timeout(TIMEOUT_MS) });
      await res.body?.cancel();
      if (res.status !== 200) throw new CliFailure(`${url} answered ${res.status}`);
      print.done(`ok: ${url}`, { ok: true, url });
    } catch (err) {
      if (err instanceof CliFailure) throw err;
      throw new CliFailure(`${url}: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      client?.close();
    }
  },
};

/** The healthcheck command. */
export const healthcheckCommands: CommandTree = { healthcheck: healthcheckCommand };
