/**
 * Fetching a sender's keys from its JWKS URL through the SSRF-guarded client: by hand, on the scheduled refresh,
 * and on demand when a signature names a key id the sender does not have (a partner's new key).
 */
import type { Deps } from "../deps.ts";
import type { KeyAlg } from "../keys/server_keys.ts";
import { isoNow } from "../clock.ts";
import { OutboundError } from "../net/outbound.ts";
import { checkKeyId, currentSenderKeySet, isKeyId, parsePublicKey } from "./keys.ts";
import type { SenderKeySet } from "./key_cache.ts";
import { privateKeyKind, privateKeyRefusal } from "./private_key.ts";
import { normaliseAlg, parseKid } from "../auth/envelope_signature.ts";
import { getSender, SenderError } from "./store.ts";

/** Largest JWKS document read, in bytes. */
const JWKS_MAX_BYTES = 256 * 1024;
/** Most members a JWKS may have. */
const JWKS_MAX_KEYS = 50;

/**
 * The outcome of one fetch (also recorded on the sender row). `skipped`, when the document had members that are not
 * usable signing keys: each as `key #i (kid): reason`.
 */
export type FetchOutcome = { ok: true; keys: number; skipped?: string[] } | { ok: false; error: string };

/** A usable signing key of a JWKS, under the key id it is stored as. */
export interface JwksKey {
  keyId: string;
  alg: KeyAlg;
  jwk: Record<string, unknown>;
}

/** Fetches the sender's JWKS and replaces its `jwks`-sourced keys; on any failure the old keys stay. */
export async function fetchSenderKeys(deps: Deps, senderId: string): Promise<FetchOutcome> {
  const sender = await getSender(deps, senderId);
  if (!sender) throw new SenderError("not_found", `sender "${senderId}" does not exist`);
  if (!sender.jwks_url) throw new SenderError("invalid", `sender "${senderId}" has no jwks_url`);
  let outcome: FetchOutcome;
  let parsed: ReturnType<typeof parseJwks> = { keys: [], skipped: [] };
  const startedAt = isoNow(deps.clock);
  try {
    const res = await deps.http.request(sender.jwks_url, {
      method: "GET",
      headers: { accept: "application/json" },
      maxBytes: Math.min(JWKS_MAX_BYTES, deps.config.outboundMaxBytes),
      sender: senderId,
    });
    if (res.status !== 200) throw new SenderError("invalid", `JWKS URL answered HTTP ${res.status}`);
    parsed = parseJwks(res.text(), senderId);
    outcome = {
      ok: true,
      keys: parsed.keys.length,
      ...(parsed.skipped.length ? { skipped: parsed.skipped } : {}),
    };
  } catch (err) {
    if (!(err instanceof OutboundError || err instanceof SenderError)) throw err;
    outcome = { ok: false, error: `${err instanceof OutboundError ? err.reason + ": " : ""}${err.message}` };
  }
  // Recorded only while the URL is still the sender's (keys of a URL changed or cleared meanwhile stay gone) and
  // no fetch that began later was recorded first (its newer document stays).
  await deps.storage.senderKeys.recordFetch(
    senderId,
    sender.jwks_url,
    outcome.ok
      ? {
        ok: true,
        keys: parsed.keys.map((k) => ({ keyId: k.keyId, alg: k.alg, jwk: JSON.stringify(k.jwk) })),
      }
      : outcome,
    isoNow(deps.clock),
    startedAt,
  );
  deps.metrics.inc("dci_jwks_fetches_total", "Sender JWKS fetches by outcome", {
    outcome: outcome.ok ? "ok" : "error",
  });
  if (outcome.ok && outcome.skipped) {
    deps.log.warn("sender JWKS members skipped", { sender_id: senderId, skipped: outcome.skipped });
  }
  return outcome;
}

/**
 * Parses a JWKS document into its usable signing keys (Ed25519 or RSA ≥ 2048 public keys, each with a kid) and
 * the members it skipped, each as `key #i (kid): reason`. Refuses the whole document (SenderError) when it is not
 * a JWKS, has more than 50 members, holds a private key, or has no usable signing key. With `senderId`, a member
 * whose DCI-style kid names another sender is skipped: a JWKS shared by several partners (a hub publishing each
 * member's keys) would otherwise let every partner's key sign as this sender.
 */
export function parseJwks(text: string, senderId?: string): { keys: JwksKey[]; skipped: string[] } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new SenderError("invalid", "JWKS is not JSON");
  }
  const members = (doc as { keys?: unknown })?.keys;
  if (!Array.isArray(members)) throw new SenderError("invalid", 'JWKS has no "keys" array');
  if (members.length > JWKS_MAX_KEYS) {
    throw new SenderError("invalid", `JWKS has ${members.length} keys (at most ${JWKS_MAX_KEYS})`);
  }
  const read = members.map((raw, i) => readMember(raw, i, senderId));
  // Two usable members under one key id: which one signs is unknown, so neither is kept (a member skipped for its
  // own reason, such as an encryption key of the same kid, leaves the other usable).
  const uses = new Map<string, number>();
  for (const m of read) {
    if (m.keyId !== undefined && m.reason === undefined) uses.set(m.keyId, (uses.get(m.keyId) ?? 0) + 1);
  }
  const keys: JwksKey[] = [];
  const skipped: string[] = [];
  read.forEach((m, i) => {
    const reason = m.reason ??
      ((uses.get(m.keyId!) ?? 0) > 1 ? `key_id "${m.keyId}" appears more than once` : undefined);
    if (reason === undefined) keys.push(m.key!);
    else skipped.push(`key #${i} (${m.label}): ${reason}`);
  });
  if (keys.length === 0) {
    throw new SenderError(
      "invalid",
      `JWKS has no usable signing key${skipped.length ? `: ${skipped.join("; ")}` : ""}`,
    );
  }
  return { keys, skipped };
}

/** One JWKS member read: its key, or why it is skipped (with its key id when it has a valid one). */
interface Member {
  label: string;
  keyId?: string;
  key?: JwksKey;
  reason?: string;
}

/** Reads JWKS member #i; throws SenderError for a private key, which refuses the whole document. */
function readMember(raw: unknown, i: number, senderId: string | undefined): Member {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return { label: "no kid", reason: "not a JSON object" };
  }
  const jwk = raw as Record<string, unknown>;
  const label = typeof jwk.kid === "string" && jwk.kid !== "" ? shownKid(jwk.kid) : "no kid";
  if (jwk.kty === "oct") return { label, reason: 'kty "oct" is a symmetric key, not a public signing key' };
  // A published private key is refused whole, as one given by hand, so that its owner learns of it.
  const privateKind = privateKeyKind(jwk);
  if (privateKind) {
    throw new SenderError("invalid", `JWKS key #${i} (${label}): ${privateKeyRefusal(privateKind)}`);
  }
  if (typeof jwk.kid !== "string" || jwk.kid === "") return { label, reason: "it has no kid" };
  // A DCI-style kid "{sender}|{key_id}|{alg}" is stored under its key_id, which passes the same checks as a
  // key added by hand (a kid "|" once became the key id "", which no admin call could name or remove).
  // Split from the right, as an envelope's kidId: the sender id (`https://partner.org`) may hold anything.
  const parts = parseKid(jwk.kid) ?? { keyId: jwk.kid, alg: undefined };
  try {
    checkKeyId(parts.keyId);
  } catch (err) {
    return { label, reason: (err as Error).message };
  }
  const keyId = parts.keyId;
  if (senderId !== undefined && "senderId" in parts && parts.senderId !== senderId) {
    return { label, reason: `kid names sender ${shown(parts.senderId)}, not ${shown(senderId)}` };
  }
  const reason = notForSigning(jwk);
  if (reason) return { label, keyId, reason };
  let parsed;
  try {
    parsed = parsePublicKey(jwk);
  } catch (err) {
    if (!(err instanceof SenderError)) throw err;
    return { label, keyId, reason: err.message };
  }
  if (parts.alg !== undefined && normaliseAlg(parts.alg) !== parsed.alg) {
    return { label, keyId, reason: `kid names alg "${parts.alg.slice(0, 40)}" for a ${parsed.alg} key` };
  }
  return { label, keyId, key: { keyId, alg: parsed.alg, jwk: parsed.jwk } };
}

/** Why a public JWK is not a signing key this server verifies with (`use`, `key_ops`, `kty`, `crv`, `alg`). */
function notForSigning(jwk: Record<string, unknown>): string | undefined {
  if (jwk.use !== undefined && jwk.use !== "sig") return `use ${shown(jwk.use)} is not "sig"`;
  if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes("verify"))) {
    return `key_ops ${shown(jwk.key_ops)} has no "verify"`;
  }
  if (jwk.kty !== "OKP" && jwk.kty !== "RSA") {
    return `kty ${shown(jwk.kty)} is not supported (OKP with crv Ed25519, or RSA)`;
  }
  if (jwk.kty === "OKP" && jwk.crv !== "Ed25519") return `crv ${shown(jwk.crv)} is not supported (Ed25519)`;
  const [alg, name] = jwk.kty === "OKP" ? ["ed25519", "EdDSA"] : ["rsa-sha256", "RS256"];
  if (jwk.alg !== undefined && (typeof jwk.alg !== "string" || normaliseAlg(jwk.alg) !== alg)) {
    return `alg ${shown(jwk.alg)} is not a signing algorithm of this ${jwk.kty} key (${name})`;
  }
  return undefined;
}

/** A JWK member's value for a message, at most 60 characters of its JSON. */
function shown(value: unknown): string {
  const json = value === undefined ? "(none)" : JSON.stringify(value) ?? String(value);
  return json.length > 60 ? `${json.slice(0, 60)}…` : json;
}

/** A kid for a message: its first 100 characters, control characters and quotes escaped. */
function shownKid(kid: string): string {
  const text = JSON.stringify(kid.slice(0, 100)).slice(1, -1);
  return kid.length > 100 ? `${text}…` : text;
}

/**
 * The sender's keys after an on-demand JWKS fetch, for a signature naming `keyId`, a key id the sender does not
 * have (src/auth/signature_check.ts, after the bearer check). Undefined, fetching nothing, when `keyId` is no
 * valid key id, the sender has no jwks_url, or a refetch of its keys started less than a minute ago on these
 * deps; undefined when the fetch failed (a warning is logged). Concurrent calls for one sender share one fetch.
 */
export function keysAfterRefetch(
  deps: Deps,
  senderId: string,
  keyId: string,
): Promise<SenderKeySet | undefined> {
  if (!isKeyId(keyId)) return Promise.resolve(undefined);
  return deps.senderKeyCache.refetch(senderId, deps.clock.now(), () => refetchKeys(deps, senderId, keyId));
}

async function refetchKeys(deps: Deps, senderId: string, keyId: string): Promise<SenderKeySet | undefined> {
  const fields = { sender_id: senderId, key_id: keyId };
  try {
    if (!(await getSender(deps, senderId))?.jwks_url) return undefined;
    const outcome = await fetchSenderKeys(deps, senderId);
    if (!outcome.ok) {
      deps.log.warn("sender JWKS refetch for an unknown key id failed", { ...fields, error: outcome.error });
      return undefined;
    }
    deps.log.info("sender JWKS refetched for an unknown key id", { ...fields, keys: outcome.keys });
    return await currentSenderKeySet(deps, senderId);
  } catch (err) {
    // A sender removed meanwhile, or the database: the request is answered as it would be without the fetch.
    const error = err instanceof Error ? err.message : String(err);
    deps.log.warn("sender JWKS refetch for an unknown key id failed", { ...fields, error });
    return undefined;
  }
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
