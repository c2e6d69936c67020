/** Helpers for subscription tests: registry changes, a real loopback receiver, processor inputs. */
import type { Deps } from "../../src/deps.ts";
import { readRegistrant } from "../../src/registry/model.ts";
import type { ProcessInput } from "../../src/dci/processor.ts";
import type { RequestHeader } from "../../src/dci/schemas.ts";
import { checkReceivedText, warmCallbackChecks } from "../helpers/spec_hooks.ts";
import type { SpecRegistry } from "../helpers/spec_validator.ts";

/** Creates or updates a person (by id) and records the registry event. */
export function putPerson(
  deps: Deps,
  raw: Record<string, unknown>,
): Promise<{ id: number; eventType: string }> {
  const now = new Date(deps.clock.now()).toISOString();
  return deps.storage.registry.save(readRegistrant(raw, now), { mode: "upsert", now });
}

/** Soft-deletes a registrant and records the delete event. */
export async function removePerson(deps: Deps, externalId: string): Promise<void> {
  const now = new Date(deps.clock.now()).toISOString();
  await deps.storage.registry.delete(externalId, { now });
}

/** A person record in the registry's input shape. */
export function person(id: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id,
    record_type: "person",
    identifiers: [{ type: "UIN", value: `U-${id}` }],
    name: { given_name: `Given ${id}`, surname: "Tester" },
    sex: "female",
    birth_date: "1990-01-01",
    address: [{ locality: "Springfield", region_code: "R1", country_code: "XX" }],
    ...extra,
  };
}

/** One request received by the loopback receiver. */
export interface Received {
  path: string;
  headers: Headers;
  body: Record<string, unknown>;
}

/** A real HTTP receiver on 127.0.0.1 (port 0) answering `status()` (default 200). */
export interface Receiver {
  url: string;
  received: Received[];
  /** Every request, whatever the answer. */
  hits: number;
  status: (r: Received) => number;
  /** Resolves once `pred` holds for the received list (checked on each arrival), or rejects after `ms`. */
  until(pred: (all: Received[]) => boolean, ms?: number): Promise<void>;
  /** While set, every answer waits for it (requests are still recorded): the sender's deliveries stall. */
  stall?: Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts a receiver; every notification and callback it gets is checked against `registry`'s spec yaml (none
 * when `registry` is null: a test-only registry without one).
 */
export function startReceiver(options: { registry?: SpecRegistry | null } = {}): Receiver {
  warmCallbackChecks(options.registry);
  const received: Received[] = [];
  const waiters: Array<() => void> = [];
  const r: Receiver = {
    url: "",
    received,
    hits: 0,
    status: () => 200,
    until(pred, ms = 15_000) {
      if (pred(received)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`receiver: condition not met in ${ms} ms (${received.length} received)`)),
          ms,
        );
        const check = () => {
          if (pred(received)) {
            clearTimeout(timer);
            resolve();
          } else waiters.push(check);
        };
        waiters.push(check);
      });
    },
    close: async () => await server.shutdown(),
  };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const text = await req.text().catch(() => undefined);
    if (text !== undefined) checkReceivedText(req.url, text, options.registry);
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text ?? "");
    } catch { /* recorded as empty */ }
    const entry = { path: new URL(req.url).pathname, headers: req.headers, body };
    r.hits++;
    const status = r.status(entry);
    if (status >= 200 && status < 300) received.push(entry);
    for (const w of waiters.splice(0)) w();
    if (r.stall) await r.stall;
    return new Response(JSON.stringify({ message: { ack_status: status < 300 ? "ACK" : "ERR" } }), {
      status,
      headers: { "content-type": "application/json" },
    });
  });
  r.url = `http://127.0.0.1:${server.addr.port}`;
  return r;
}

/** A processor input for `action` from `senderId` with `message`. */
export function input(senderId: string, message: Record<string, unknown>, senderUri?: string): ProcessInput {
  const correlationId = crypto.randomUUID();
  return {
    registry: "social",
    senderId,
    header: {
      version: "1.0.0",
      message_id: crypto.randomUUID(),
      message_ts: new Date().toISOString(),
      action: "subscribe",
      sender_id: senderId,
      sender_uri: senderUri,
      total_count: 1,
    } as RequestHeader,
    message,
    transactionId: `txn-${correlationId.slice(0, 8)}`,
    correlationId,
  };
}

/** A subscribe_request item. */
export function subItem(ref: string, criteria: Record<string, unknown>): Record<string, unknown> {
  return {
    reference_id: ref,
    timestamp: new Date().toISOString(),
    subscribe_criteria: { reg_event_type: "update", notify_record_type: "person", ...criteria },
  };
}
