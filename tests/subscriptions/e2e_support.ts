/** End-to-end helpers for subscriptions: a worker server, registry changes in its data dir, admin calls. */
import type { Deps } from "../../src/deps.ts";
import { openDatabase } from "../../src/db/sqlite.ts";
import { systemClock } from "../../src/clock.ts";
import type { ServerProcess } from "../helpers/server.ts";
import type { TestSender } from "../helpers/auth.ts";
import { ADMIN_TOKEN, send, startWorkerServer } from "../transactions/e2e_support.ts";
import { person, putPerson, type Receiver, removePerson } from "./helpers.ts";

export { ADMIN_TOKEN, send };

/** Starts the worker server with short notification retries (overridable). */
export function startServer(env: Record<string, string> = {}, dataDir?: string): Promise<ServerProcess> {
  return startWorkerServer({ DCI_CALLBACK_RETRY_DELAYS_MS: "100,200", ...env }, dataDir);
}

/**
 * Changes the registry of a running (or stopped) server the way another process would: straight into its
 * SQLite file, each change with its registry event in one transaction. The notifier finds them by polling.
 */
export function changeRegistry(server: { dataDir: string }, fn: (deps: Deps) => void): void {
  const db = openDatabase(`${server.dataDir}/dci.sqlite`);
  try {
    fn({ db, clock: systemClock } as unknown as Deps);
  } finally {
    db.close();
  }
}

/** Upserts persons `id` with the given sexes in order (one registry event each). */
export function updates(server: { dataDir: string }, id: string, sexes: string[]): void {
  changeRegistry(server, (deps) => {
    for (const sex of sexes) putPerson(deps, person(id, { sex }));
  });
}

/** Deletes person `id`. */
export function remove(server: { dataDir: string }, id: string): void {
  changeRegistry(server, (deps) => removePerson(deps, id));
}

/** Calls the admin API with the e2e admin token. */
export async function admin(
  server: { url: string },
  method: "GET" | "POST",
  path: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${server.url}/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, "content-type": "application/json" },
    body: method === "POST" ? "{}" : undefined,
  });
  return { status: res.status, body: await res.json() };
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

/** The reg_records[0] of a notify request. */
export function recordOf(r: { body: Record<string, unknown> }): Record<string, unknown> {
  return (r.body.message as {
    notify_event: Array<{ data: { reg_records: Array<Record<string, unknown>> } }>;
  })
    .notify_event[0].data.reg_records[0];
}
