/**
 * Accepting an async request: check it, store the transaction (the record of truth), enqueue its id, and
 * answer the ACK with our correlation_id. A repeat (the same transaction_id and message to the same registry and
 * action) gets the stored ACK and nothing else.
 */
import { createHash } from "node:crypto";
import type { Deps } from "../deps.ts";
import type { RequestHeader } from "../dci/schemas.ts";
import type { Ack } from "../dci/schemas.ts";
import type { Registry } from "../dci/registry_router.ts";
import { DciError, DciRejection } from "../dci/errors.ts";
import { OutboundError } from "../net/outbound.ts";
import { getSender, type Sender } from "../senders/store.ts";
import { isoNow } from "../clock.ts";
import { callbackUrl } from "./callback.ts";
import { asyncAction } from "../dci/actions.ts";
import type { TxnAction } from "./states.ts";
import { TXN_KIND } from "./worker.ts";
import { isHeaderSafeId } from "../dci/limits.ts";
import { checkHeaderAction, checkVersion } from "../dci/header_rules.ts";
import { checkSearchHeader } from "../registry/search_message.ts";

/** One async request to accept. */
export interface AcceptInput {
  registry: Registry;
  action: TxnAction;
  senderId: string;
  header: RequestHeader;
  message: Record<string, unknown> & { transaction_id: string };
}

/** The answer: the ACK (stored, so a repeat gets the same one) and whether this call created the transaction. */
export interface Accepted {
  ack: Ack;
  correlationId: string;
  created: boolean;
}

/** Stores and enqueues one async request; throws DciError / DciRejection for requests it refuses. */
export async function acceptTransaction(deps: Deps, input: AcceptInput): Promise<Accepted> {
  const { action, header, message } = input;
  const spec = asyncAction(action);
  checkHeaderAction(spec, header.action);
  // Header-level problems are refused now, with the ERR ACK, rather than ACKed and rejected in the callback.
  checkVersion(header.version);
  // Read once: its leniencies here, its callback base below.
  const sender = await getSender(deps, input.senderId);
  if (action === "search") {
    checkSearchHeader(deps.config, { total_count: header.total_count }, message, {
      lenientTotalCount: sender?.lenient.includes("total_count"),
    });
  }
  const listKey = spec.requestItems;
  const items = listKey ? message[listKey] as unknown[] : [];
  if (items.length > deps.config.maxSearchItems) {
    throw new DciRejection(
      "rjct.total_count.limit_exceeded",
      `${listKey} has ${items.length} items; at most ${deps.config.maxSearchItems} are allowed`,
    );
  }
  const url = await resolveCallback(deps, input, sender);
  const correlationId = crypto.randomUUID();
  const now = isoNow(deps.clock);
  const ack: Ack = { message: { ack_status: "ACK", timestamp: now, correlation_id: correlationId } };
  const { row, created } = await deps.storage.transactions.insert({
    sender_id: input.senderId,
    transaction_id: message.transaction_id,
    dedupe_key: action === "txn-status" || action === "receipt"
      ? header.message_id
      : repeatKey(input.registry, message.transaction_id, message),
    message_id: header.message_id,
    correlation_id: correlationId,
    action,
    registry: input.registry,
    callback_url: url,
    request_header: JSON.stringify(header),
    request_message: JSON.stringify(message),
    ack: JSON.stringify(ack),
    callback_message_id: crypto.randomUUID(),
    reference_ids: items.map(referenceIdOf).filter((r): r is string => r !== undefined),
    now,
  });
  if (!created) {
    return { ack: JSON.parse(row.ack) as Ack, correlationId: row.correlation_id, created: false };
  }
  // The ACK does not wait for the queue: the committed row is the promise; the sweeper backs the wake-up.
  // When this process runs the worker (this isolate or the main one, over the bus) it claims the row at once,
  // so the row is not marked `pending` first: one SQLite write less on the accept path.
  void wakeWorker(deps, row.id, correlationId);
  return { ack, correlationId, created: true };
}

/**
 * Wakes the worker for stored transaction `id`: at once when this process runs it, else through the queue, the
 * row then marked `pending`. Never rejects: the row is stored, and a failure of either step (shutting down, a
 * held lock) leaves it to the sweeper, which redoes `received` rows; one thrown made a caller undo a stored
 * transaction's work (a bulk search's spool).
 */
export async function wakeWorker(deps: Deps, id: number, correlationId: string): Promise<void> {
  const wake = { kind: TXN_KIND, id: String(id) };
  if (deps.queue.wake?.(wake)) return;
  await deps.queue.enqueue(wake).then(
    async () => {
      try {
        await deps.storage.transactions.markPending(id, isoNow(deps.clock));
      } catch { /* shutting down: the row stays `received`, which the sweeper also redoes */ }
    },
    (err) =>
      deps.log.warn("enqueue failed; the sweeper will pick the transaction up", {
        correlation_id: correlationId,
        err,
      }),
  );
}

/**
 * What makes a request a repeat of one stored (a sender retrying with a new message_id): the registry, the
 * transaction_id and the whole message. The spec has a sender reuse its transaction_id for every request of one
 * exchange (another registry's search, the next page): those are new requests, not repeats.
 */
export function repeatKey(registry: string, transactionId: string, message: unknown): string {
  const digest = createHash("sha256").update(JSON.stringify(message)).digest("base64url");
  return `${registry}/${digest}/${transactionId}`;
}

/** An item's reference_id as a string (numbers accepted), or undefined (the processor rejects that item). */
function referenceIdOf(item: unknown): string | undefined {
  const r = (item as { reference_id?: unknown } | null)?.reference_id;
  if (typeof r === "number" && Number.isFinite(r)) return String(r);
  return isHeaderSafeId(r) ? r : undefined;
}

/**
 * The callback URL: the sender's registered callback base (`sender`, as the caller read it; undefined: no such
 * sender) wins over header.sender_uri; refused if guarded.
 */
export async function resolveCallback(
  deps: Deps,
  input: Pick<AcceptInput, "senderId" | "header" | "action">,
  sender: Sender | undefined,
): Promise<string> {
  const base = sender?.callback_base_url ?? input.header.sender_uri;
  const url = callbackUrl(base ?? undefined, input.action, sender?.callback_url_mode);
  if (!url) {
    throw new DciError(
      "err.sender_uri.invalid",
      base
        ? `Callback URL ${JSON.stringify(base.slice(0, 200))} is not an absolute http(s) URL`
        : `No callback URL: header.sender_uri is missing and sender "${input.senderId}" has none registered`,
    );
  }
  try {
    await deps.http.check(url, { sender: input.senderId });
  } catch (err) {
    if (err instanceof OutboundError && (err.reason === "blocked" || err.reason === "invalid_url")) {
      throw new DciError("err.sender_uri.invalid", `Callback URL is refused: ${err.message}`);
    }
    // DNS trouble may pass; delivery re-checks and retries.
  }
  return url;
}
