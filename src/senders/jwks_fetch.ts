/** Fetching a sender's keys from its JWKS URL through the SSRF-guarded client, and the scheduled refresh. */
import type { Deps } from "../deps.ts";
import { isoNow } from "../clock.ts";
import { OutboundError } from "../net/outbound.ts";
import { checkKeyId, parsePublicKey } from "./keys.ts";
import { normaliseAlg, parseKid } from "../auth/envelope_signature.ts";
import { getSender, SenderError } from "./store.ts";

/** Largest JWKS document read, in bytes. */
const JWKS_MAX_BYTES = 256 * 1024;

/** The outcome of one fetch (also recorded on the sender row). */
export type FetchOutcome = { ok: true; keys: number } | { ok: false; error: string };

/** Fetches the sender's JWKS and replaces its `jwks`-sourced keys; on any failure the old keys stay. */
export async function fetchSenderKeys(deps: Deps, senderId: string): Promise<FetchOutcome> {
  const sender = await getSender(deps, senderId);
  if (!sender) throw new SenderError("not_found", `sender "${senderId}" does not exist`);
  if (!sender.jwks_url) throw new SenderError("invalid", `sender "${senderId}" has no jwks_url`);
  let outcome: FetchOutcome;
  let parsed: ReturnType<typeof parseJwks> = [];
  try {
    const res = await deps.http.request(sender.jwks_url, {
      method: "GET",
      headers: { accept: "application/json" },
      maxBytes: Math.min(JWKS_MAX_BYTES, deps.config.outboundMaxBytes),
      sender: senderId,
    });
    if (res.status !== 200) throw new SenderError("invalid", `JWKS URL answered HTTP ${res.status}`);
    parsed = parseJwks(res.text());
    outcome = { ok: true, keys: parsed.length };
  } catch (err) {
    if (!(err instanceof OutboundError || err instanceof SenderError)) throw err;
    outcome = { ok: false, error: `${err instanceof OutboundError ? err.reason + ": " : ""}${err.message}` };
  }
  await deps.storage.senderKeys.recordFetch(
    senderId,
    outcome.ok
      ? { ok: true, keys: parsed.map((k) => ({ keyId: k.keyId, alg: k.alg, jwk: JSON.stringify(k.jwk) })) }
      : outcome,
    isoNow(deps.clock),
  );
  deps.metrics.inc("dci_jwks_fetches_total", "Sender JWKS fetches by outcome", {
    outcome: outcome.ok ? "ok" : "error",
  });
  return outcome;
}

/** Parses a JWKS document: every key needs a `kid` and must be an Ed25519 or RSA (≥ 2048) public key. */
export function parseJwks(text: string) {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new SenderError("invalid", "JWKS is not JSON");
  }
  const keys = (doc as { keys?: unknown })?.keys;
  if (!Array.isArray(keys)) throw new SenderError("invalid", 'JWKS has no "keys" array');
  if (keys.length > 50) throw new SenderError("invalid", `JWKS has ${keys.length} keys (at most 50)`);
  const seen = new Set<string>();
  return keys.map((raw, i) => {
    const jwk = raw as Record<string, unknown>;
    if (typeof jwk?.kid !== "string" || jwk.kid === "") {
      throw new SenderError("invalid", `JWKS key #${i} has no kid`);
    }
    // A DCI-style kid "{sender}|{key_id}|{alg}" is stored under its key_id, which passes the same checks as a
    // key added by hand (a kid "|" once became the key id "", which no admin call could name or remove).
    // Split from the right, as an envelope's kidId: the sender id (`https://partner.org`) may hold anything.
    const parts = parseKid(jwk.kid) ?? { keyId: jwk.kid, alg: undefined };
    const keyId = parts.keyId;
    try {
      checkKeyId(keyId);
    } catch (err) {
      throw new SenderError("invalid", `JWKS key #${i}: ${(err as Error).message}`);
    }
    if (seen.has(keyId)) throw new SenderError("invalid", `JWKS key #${i}: key_id "${keyId}" appears twice`);
    seen.add(keyId);
    const alg = typeof jwk.alg === "string" && jwk.alg !== "EdDSA" ? jwk.alg : undefined;
    const { alg: detected, jwk: pub } = parsePublicKey(jwk, alg);
    if (parts.alg !== undefined && normaliseAlg(parts.alg) !== detected) {
      throw new SenderError(
        "invalid",
        `JWKS key #${i}: kid names alg "${parts.alg.slice(0, 40)}" for a ${detected} key`,
      );
    }
    return { keyId, alg: detected, jwk: pub };
  });
}

/** The scheduled refresh: re-fetches every active sender whose last fetch is older than the setting. */
export async function refreshDueJwks(deps: Deps): Promise<number> {
  const cutoff = new Date(deps.clock.now() - deps.config.jwksRefreshMinutes * 60_000).toISOString();
  const due = await deps.storage.senderKeys.dueForRefresh(cutoff);
  for (const sender_id of due) {
    // One sender's failure, whatever it is, must not stop the refresh of the senders after it.
    try {
      const outcome = await fetchSenderKeys(deps, sender_id);
      if (!outcome.ok) deps.log.warn("sender JWKS fetch failed", { sender_id, error: outcome.error });
    } catch (err) {
      deps.log.error("sender JWKS refresh failed", { sender_id, err });
    }
  }
  return due.length;
}
