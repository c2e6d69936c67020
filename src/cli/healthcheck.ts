/**
 * `dci-server healthcheck`: GET /healthz of the server this configuration describes and exit 0 when it
 * answers 200, 1 otherwise. For container HEALTHCHECKs: the runtime image has no curl.
 */
import { CliFailure, type Command, type CommandTree } from "./cli.ts";
import { X509Certificate } from "node:crypto";
import { isIP } from "node:net";
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
    try {
      const target = new URL(url);
      // With TLS the server's own certificate chain is trusted, so a private CA needs no system trust store.
      const chain = cfg.tlsCert ? await Deno.readTextFile(cfg.tlsCert) : undefined;
      const host = target.hostname.replace(/^\[(.*)\]$/, "$1");
      const status = await getStatus(target, {
        caCerts: chain ? [chain] : undefined,
        // DCI_HOST=localhost is this server's loopback; a --url naming localhost is checked as named.
        serverName: chain ? tlsServerName(host, chain, { localhost: typeof values.url !== "string" }) : host,
      });
      if (status !== 200) throw new CliFailure(`${url} answered ${status}`);
      print.done(`ok: ${url}`, { ok: true, url });
    } catch (err) {
      if (err instanceof CliFailure) throw err;
      throw new CliFailure(`${url}: ${describe(err)}`);
    }
  },
};

/**
 * The name the server's certificate is checked against when it is reached at `host`: a host name itself; an IP
 * address (loopback, the bind address) or `localhost` itself when the certificate lists it or has no DNS name, else the
 * certificate's first DNS name. A certificate for the real host name (gw.example.org) rarely lists 127.0.0.1.
 */
export function tlsServerName(host: string, certPem: string, options: { localhost?: boolean } = {}): string {
  // `localhost` is loopback too (DCI_HOST=localhost): reached here, checked as the addresses are.
  const loopbackName = options.localhost === true && /^(.+\.)?localhost$/i.test(host);
  if (isIP(host) === 0 && !loopbackName) return host;
  let names: string[];
  try {
    names = (new X509Certificate(certPem).subjectAltName ?? "").split(/,\s*/);
  } catch {
    return host;
  }
  if (names.includes(loopbackName ? `DNS:${host}` : `IP Address:${host}`)) return host;
  const dns = names.find((n) => n.startsWith("DNS:"))?.slice(4);
  return dns ? dns.replace(/^\*\./, "healthcheck.") : host;
}

/**
 * GET `url` over HTTP/1.1 and answer the status: TCP to the URL's host and port, then (https) TLS verified
 * against `serverName` with `caCerts` trusted too. fetch cannot connect to one name and verify another.
 */
async function getStatus(url: URL, options: { caCerts?: string[]; serverName: string }): Promise<number> {
  const signal = AbortSignal.timeout(TIMEOUT_MS);
  const hostname = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  let conn: Deno.Conn | undefined;
  const close = () => {
    try {
      conn?.close();
    } catch { /* closed already */ }
  };
  signal.addEventListener("abort", close);
  try {
    const tcp = conn = await Deno.connect({ hostname, port, signal });
    if (url.protocol === "https:") {
      conn = await Deno.startTls(tcp, { hostname: options.serverName, caCerts: options.caCerts });
    }
    const request = `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\n` +
      "User-Agent: dci-server-healthcheck\r\nConnection: close\r\n\r\n";
    const bytes = new TextEncoder().encode(request);
    for (let sent = 0; sent < bytes.length;) sent += await conn.write(bytes.subarray(sent));
    const head = await readLine(conn);
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1];
    if (!status) throw new Error(`not an HTTP answer: ${JSON.stringify(head.slice(0, 80))}`);
    return Number(status);
  } catch (err) {
    if (signal.aborted) throw new Error(`no answer within ${TIMEOUT_MS} ms`);
    throw err;
  } finally {
    signal.removeEventListener("abort", close);
    close();
  }
}

/** The first line the server sends (its status line), read up to 8 KiB. */
async function readLine(conn: Deno.Conn): Promise<string> {
  const buf = new Uint8Array(8192);
  let length = 0;
  while (length < buf.length) {
    const n = await conn.read(buf.subarray(length));
    if (n === null) break;
    length += n;
    const text = new TextDecoder().decode(buf.subarray(0, length));
    if (text.includes("\r\n")) return text.slice(0, text.indexOf("\r\n"));
  }
  if (length === 0) throw new Error("the connection closed without an answer");
  return new TextDecoder().decode(buf.subarray(0, length));
}

/** An error's message with its causes (a TLS or connection failure is in them: "certificate not valid for …"). */
function describe(err: unknown): string {
  const parts: string[] = [];
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 5; e = (e as Error).cause, depth++) {
    const text = e instanceof Error ? e.message : String(e);
    if (!parts.includes(text)) parts.push(text);
  }
  return parts.join(": ");
}

/** The healthcheck command. */
export const healthcheckCommands: CommandTree = { healthcheck: healthcheckCommand };
