/**
 * Accepting a bulk search whose lookups are spooled already: the transaction row (the record of the request, its
 * ACK, and the dedupe of a repeat of its message_id) and its bulk_searches row commit together, then the worker is
 * woken, as for any async request.
 */
import type { Deps } from "../deps.ts";
import type { Ack, RequestHeader } from "../dci/schemas.ts";
import type { Registry } from "../dci/registry_router.ts";
import { isoNow } from "../clock.ts";
import { resolveCallback, wakeWorker } from "./accept.ts";
import { getSender } from "../senders/store.ts";
import type { Upload } from "./bulk_upload.ts";
import { BulkOpenLimit } from "./bulk_store.ts";
import { DciError } from "../dci/errors.ts";

/** A received upload to accept. */
export interface BulkInput {
  registry: Registry;
  senderId: string;
  header: RequestHeader;
  transactionId: string;
  upload: Upload;
}

/** The refusal of an upload of a sender with `open` bulk searches open (DCI_BULK_MAX_OPEN_PER_SENDER's most). */
export function openLimitError(deps: Pick<Deps, "config">, senderId: string, open: number): DciError {
  return new DciError(
    "err.request.too_many_requests",
    `Sender "${senderId}" has ${open} bulk searches open (DCI_BULK_MAX_OPEN_PER_SENDER: ` +
      `${deps.config.bulkMaxOpenPerSender}); send the next when one has been delivered`,
    { headers: { "Retry-After": "60" } },
  );
}

/**
 * Stores and wakes a bulk search; a repeat of its message_id gets the stored ACK (and the new spool is removed).
 * Throws DciError for a refused callback URL, and for a sender with DCI_BULK_MAX_OPEN_PER_SENDER searches open
 * (counted again with the insert: uploads arriving together passed the route's early count).
 */
export async function acceptBulk(deps: Deps, input: BulkInput): Promise<{ ack: Ack; correlationId: string }> {
  const url = await resolveCallback(
    deps,
    { senderId: input.senderId, header: input.header, action: "search" },
    await getSender(deps, input.senderId),
  );
  const correlationId = crypto.randomUUID();
  const now = isoNow(deps.clock);
  const ack: Ack = { message: { ack_status: "ACK", timestamp: now, correlation_id: correlationId } };
  const { upload } = input;
  const message = {
    transaction_id: input.transactionId,
    bulk_file: { file_name: upload.fileName, file_format: upload.format, items: upload.items },
  };
  const { row, created } = await deps.storage.transactions.insert(
    {
      sender_id: input.senderId,
      transaction_id: input.transactionId,
      // Its message (file name, format, count) does not tell two files apart: its message_id and message_ts name
      // it. Copies of one upload (the same header) racing each other, each admitted while no transaction was
      // stored under the id, get the one stored ACK; the message_id reused for a new upload once the replay guard
      // has let it go (the spec lets a sender use it again once ACKed) comes with a later message_ts: a search of
      // its own, not the old one's ACK with its file thrown away.
      dedupe_key: `bulk/${input.header.message_id}/${input.header.message_ts}`,
      message_id: input.header.message_id,
      correlation_id: correlationId,
      action: "search",
      registry: input.registry,
      callback_url: url,
      request_header: JSON.stringify(input.header),
      request_message: JSON.stringify(message),
      ack: JSON.stringify(ack),
      reference_ids: [],
      now,
    },
    {
      spool: upload.spool,
      file_name: upload.fileName,
      file_format: upload.format,
      items_total: upload.items,
      page_size: deps.config.bulkPageSize,
      maxOpen: deps.config.bulkMaxOpenPerSender,
    },
  ).catch((err) => {
    throw err instanceof BulkOpenLimit ? openLimitError(deps, input.senderId, err.open) : err;
  });
  if (!created) {
    await deps.storage.spools.remove(upload.spool);
    return { ack: JSON.parse(row.ack) as Ack, correlationId: row.correlation_id };
  }
  await wakeWorker(deps, row.id, correlationId);
  return { ack, correlationId };
}
