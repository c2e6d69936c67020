/** Bulk search by file in tests: multipart bodies as the spec's FileInfo, RFC 9421-signed POSTs, demo UINs. */
import type { TestSender } from "../helpers/auth.ts";
import { send } from "./e2e_support.ts";
import { contentDigest, signHttpRequest } from "../../src/auth/http_signature.ts";
import { demoRecords } from "../../src/registries/social/seed.ts";

/** A multipart body and its Content-Type (with the boundary). */
export interface Form {
  bytes: Uint8Array;
  contentType: string;
}

/** One lookup of a test file. */
export interface TestLookup {
  ref: string;
  type: string;
  value: string;
}

/** The UINs of the first `n` persons of the demo registry (`DCI_DEMO_SIZE` ≥ n, seed 1). */
export function demoUins(n: number): string[] {
  const out: string[] = [];
  for (const r of demoRecords(n)) {
    const ids = (r.raw as { identifier?: Array<{ identifier_type: string; identifier_value: string }> })
      .identifier;
    const uin = ids?.find((i) => i.identifier_type === "UIN");
    if (uin) out.push(uin.identifier_value);
  }
  return out;
}

/** The file text of `lookups` in `format`: a CSV table (reference_id,type,value) or a JSON array. */
export function fileText(format: "csv" | "json", lookups: readonly TestLookup[]): string {
  if (format === "csv") {
    return "reference_id,type,value\n" + lookups.map((l) => `${l.ref},${l.type},${l.value}`).join("\n") +
      "\n";
  }
  return JSON.stringify(lookups.map((l) => ({ reference_id: l.ref, type: l.type, value: l.value })));
}

/** A FileInfo multipart body: action, fileFormat, header (JSON), transaction_id, then the file `fileName`. */
export async function bulkForm(
  senderId: string,
  options: {
    format: "csv" | "json";
    file: string | Uint8Array;
    senderUri: string;
    transactionId?: string;
    header?: Record<string, unknown>;
    fields?: Record<string, string>;
  },
): Promise<Form> {
  const form = new FormData();
  const fields = options.fields ?? {
    action: "search",
    fileFormat: options.format,
    header: JSON.stringify({
      version: "1.0.0",
      message_id: crypto.randomUUID(),
      message_ts: new Date().toISOString(),
      action: "search",
      sender_id: senderId,
      sender_uri: options.senderUri,
      ...options.header,
    }),
    transaction_id: options.transactionId ?? `bulk-${crypto.randomUUID()}`,
  };
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append(
    "fileName",
    new Blob([options.file as BlobPart], {
      type: options.format === "csv" ? "text/csv" : "application/json",
    }),
    `lookups.${options.format}`,
  );
  const req = new Request("http://localhost/", { method: "POST", body: form });
  return { bytes: new Uint8Array(await req.arrayBuffer()), contentType: req.headers.get("content-type")! };
}

/** POSTs a form as `sender`, RFC 9421-signed over @method, @path and content-digest unless `sign` is false. */
export async function postBulk(
  url: string,
  sender: TestSender,
  form: Form,
  options: { sign?: boolean; body?: Uint8Array | ReadableStream<Uint8Array> } = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const headers: Record<string, string> = { ...sender.headers(), "content-type": form.contentType };
  if (options.sign !== false) {
    headers["content-digest"] = contentDigest(form.bytes);
    const signed = signHttpRequest(
      { method: "POST", url, headers: new Headers(headers) },
      sender.privateKey,
      {
        keyId: sender.keyId,
        components: ["@method", "@path", "content-digest"],
        created: Math.floor(Date.now() / 1000),
      },
    );
    headers["signature-input"] = signed.signatureInput;
    headers["signature"] = signed.signature;
  }
  const res = await fetch(url, { method: "POST", headers, body: (options.body ?? form.bytes) as BodyInit });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text);
  } catch { /* kept empty */ }
  return { status: res.status, body, headers: res.headers };
}

/** A sync txn/status query of `sender`'s search `transactionId` (a bulk search's one item): the answer's body. */
export async function searchTxnStatus(
  server: { url: string },
  sender: TestSender,
  transactionId: string,
  senderUri: string,
): Promise<Record<string, unknown>> {
  const query = {
    transaction_id: `status-${transactionId}`,
    txnstatus_request: {
      reference_id: "q1",
      txn_type: "search",
      attribute_type: "transaction_id",
      attribute_value: transactionId,
    },
  };
  return (await send(server, sender, "/registry/sync/txn/status", query, senderUri, "txn-status")).body;
}
