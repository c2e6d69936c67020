/** End-to-end fixtures: a real server with the worker on, allowlisted loopback callbacks, short delays. */
import { postJson, type ServerOptions, type ServerProcess, startServerProcess } from "../helpers/server.ts";
import { createServerSender, type TestSender } from "../helpers/auth.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import { itemCount } from "./support.ts";

/** An admin token the e2e servers register at start. */
export const ADMIN_TOKEN = "e2e-admin-token-0123456789abcdef";

/** Starts `main.ts serve` as the worker with short retry delays and loopback allowlisted (unless overridden). */
export function startWorkerServer(
  env: Record<string, string> = {},
  dataDir?: string,
  net?: ServerOptions["net"],
): Promise<ServerProcess> {
  return startServerProcess({
    dataDir,
    net,
    env: {
      DCI_WORKER: "true",
      DCI_OUTBOUND_ALLOW: "127.0.0.1",
      DCI_CALLBACK_RETRY_DELAYS_MS: "200,400,800",
      DCI_SWEEP_INTERVAL_SECONDS: "1",
      DCI_ADMIN_TOKEN: ADMIN_TOKEN,
      DCI_RATE_LIMIT_MINUTE: "1000000",
      DCI_RATE_LIMIT_DAY: "100000000",
      DCI_LOG_LEVEL: "info",
      ...env,
    },
  });
}

/** POSTs a signed request from `sender` to the server's `path` (e.g. "/registry/search"). */
export function send(
  server: { url: string },
  sender: TestSender,
  path: string,
  message: Record<string, unknown>,
  senderUri: string,
  action?: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const env = requestEnvelope(sender.senderId, message, {
    action: action ?? (path.endsWith("txn/status") ? "txn-status" : path.split("/").pop()!),
    totalCount: itemCount(message),
    header: { sender_uri: senderUri },
  });
  return postJson(`${server.url}${path}`, sender.sign(env), sender.headers());
}

/** GETs an admin API path with the e2e admin token. */
export async function adminGet(server: { url: string }, path: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${server.url}/admin/v1${path}`, {
    headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
  });
  return await res.json();
}

/** Polls the admin API until the transaction reaches `state`. */
export async function waitForState(
  server: { url: string },
  correlationId: string,
  state: string,
  ms = 15_000,
) {
  const until = Date.now() + ms;
  for (;;) {
    const t = await adminGet(server, `/transactions/${correlationId}`);
    if (t.state === state) return t;
    if (Date.now() > until) throw new Error(`transaction ${correlationId} is ${t.state}, not ${state}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export { createServerSender };
