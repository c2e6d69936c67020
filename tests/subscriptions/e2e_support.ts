/** End-to-end helpers for subscriptions: a worker server, registry changes (admin API or CLI import), admin calls. */
import { runCliProcess, type ServerProcess } from "../helpers/server.ts";
import type { TestSender } from "../helpers/auth.ts";
import { ADMIN_TOKEN, send, startWorkerServer } from "../transactions/e2e_support.ts";
import { person, type Receiver } from "./helpers.ts";

export { ADMIN_TOKEN, send };

/** Starts the worker server with short notification retries (overridable). */
export function startServer(env: Record<string, string> = {}, dataDir?: string): Promise<ServerProcess> {
  return startWorkerServer({ DCI_CALLBACK_RETRY_DELAYS_MS: "100,200", ...env }, dataDir);
}

/** Calls the admin API with the e2e admin token. */
export async function admin(
  server: { url: string },
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE",
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${server.url}/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: method === "GET" || method === "DELETE" ? undefined : JSON.stringify(body ?? {}),
  });
  return { status: res.status, body: await res.json() };
}

/** Upserts person `id` through the admin registrant API, once per sex in order (one registry event each). */
export async function updates(server: { url: string }, id: string, sexes: string[]): Promise<void> {
  for (const sex of sexes) {
    const r = await admin(server, "PUT", `/registrants/${id}`, person(id, { sex }));
    if (r.status !== 200) throw new Error(`PUT /registrants/${id}: ${r.status} ${JSON.stringify(r.body)}`);
  }
}

/** Deletes person `id` through the admin registrant API. */
export async function remove(server: { url: string }, id: string): Promise<void> {
  const r = await admin(server, "DELETE", `/registrants/${id}`);
  if (r.status !== 200) throw new Error(`DELETE /registrants/${id}: ${r.status} ${JSON.stringify(r.body)}`);
}

/**
 * Changes the registry from another process: `dci-server registry import` of an NDJSON file (one upsert of
 * person `id` per sex, in order) into the server's data dir, running or not.
 */
export async function importFromCli(server: { dataDir: string }, id: string, sexes: string[]): Promise<void> {
  const file = await Deno.makeTempFile({ suffix: ".ndjson" });
  try {
    await Deno.writeTextFile(file, sexes.map((sex) => JSON.stringify(person(id, { sex }))).join("\n") + "\n");
    // One record per batch: each change is its own transaction, like separate edits.
    const r = await runCliProcess(["registry", "import", file, "--batch", "1"], {
      DCI_DATA_DIR: server.dataDir,
    });
    if (r.code !== 0) throw new Error(`registry import failed (${r.code}): ${r.stderr}`);
  } finally {
    await Deno.remove(file);
  }
}

/** A subscribe message with the given criteria, one item each. */
export function subscribeMessage(
  txn: string,
  criteria: Array<Record<string, unknown>>,
): Record<string, unknown> {
  return {
    transaction_id: txn,
    subscribe_request: criteria.map((c, i) => ({
      reference_id: `${txn}-${i}`,
      timestamp: new Date().toISOString(),
      subscribe_criteria: c,
    })),
  };
}

/** Subscribes through the real async endpoint and returns the on-subscribe items. */
export async function subscribeVia(
  server: { url: string },
  sender: TestSender,
  rx: Receiver,
  txn: string,
  criteria: Array<Record<string, unknown>>,
): Promise<Array<Record<string, unknown> & { subscriptions?: Array<{ code: string }> }>> {
  const ack = await send(server, sender, "/registry/subscribe", subscribeMessage(txn, criteria), rx.url);
  if (ack.status !== 202) {
    throw new Error(`subscribe not accepted: ${ack.status} ${JSON.stringify(ack.body)}`);
  }
  const match = (r: { path: string; body: Record<string, unknown> }) =>
    r.path.endsWith("/on-subscribe") &&
    (r.body.message as { transaction_id?: string })?.transaction_id === txn;
  await rx.until((all) => all.some(match));
  const cb = rx.received.find(match)!;
  return (cb.body.message as { subscribe_response: Array<Record<string, unknown>> })
    .subscribe_response as Array<
      Record<string, unknown> & { subscriptions?: Array<{ code: string }> }
    >;
}

/** The notify requests received for subscription `code`. */
export function notifiesOf(rx: Receiver, code: string) {
  return rx.received.filter((r) =>
    r.path.endsWith("/notify") &&
    (r.body.message as { notify_event: Array<{ subscription_code: string }> }).notify_event[0]
        .subscription_code === code
  );
}

/** The record of a notify request (`reg_records`, one object as the spec's NotifyEventRequest declares). */
export function recordOf(r: { body: Record<string, unknown> }): Record<string, unknown> {
  return (r.body.message as {
    notify_event: Array<{ data: { reg_records: Record<string, unknown> } }>;
  })
    .notify_event[0].data.reg_records;
}

/** Resolves once `pred` holds (polled every 25 ms), or rejects after `ms` naming `what`. */
export async function eventually(
  pred: () => boolean | Promise<boolean>,
  what: string,
  ms = 30_000,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
