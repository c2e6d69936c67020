/**
 * Header rules every registry endpoint applies, sync and async alike, before any work: the protocol version, the
 * receiver the message is addressed to, and a plain (not encrypted) message.
 */
import type { Config } from "../config.ts";
import { DciError, DciRejection } from "./errors.ts";

/** What checkHeaderAction needs of an action: the header actions it accepts, the spec's first. */
export interface HeaderActions {
  headerActions: readonly string[];
}

/** The protocol versions this server speaks (`1.0` is how some clients write 1.0.0). */
const VERSIONS = ["1.0.0", "1.0"];

/** Refuses a header.version other than 1.0.0 with `rjct.version.invalid` (absent means 1.0.0). */
export function checkVersion(version: unknown): void {
  if (version === undefined || version === null) return;
  if (typeof version !== "string" || !VERSIONS.includes(version)) {
    throw new DciRejection("rjct.version.invalid", `version ${JSON.stringify(version)} is not 1.0.0`);
  }
}

/**
 * Refuses a header.receiver_id that names another server with `err.receiver_id.invalid`. Absent, null or empty is
 * fine; otherwise it must be this server's sender id or one of DCI_RECEIVER_ALIASES, compared exactly. A value
 * that is not a string is left to the header schema (err.request.bad).
 */
export function checkReceiverId(
  config: Pick<Config, "senderId" | "receiverAliases">,
  receiverId: unknown,
): void {
  if (typeof receiverId !== "string" || receiverId === "") return;
  if (receiverId === config.senderId || config.receiverAliases.includes(receiverId)) return;
  const names = [config.senderId, ...config.receiverAliases].map((n) => JSON.stringify(n)).join(", ");
  throw new DciError(
    "err.receiver_id.invalid",
    `header.receiver_id ${JSON.stringify(receiverId.slice(0, 100))} does not name this server (${names})`,
  );
}

/**
 * Refuses a message the header marks encrypted (`is_msg_encrypted: true`, the spec's `EncryptedMessage`) with
 * `err.encryption.invalid`: this server takes plain messages only, and would otherwise refuse the ciphertext as a
 * malformed message (or, worse, read a plain one the sender believes it encrypted).
 */
export function checkNotEncrypted(isMsgEncrypted: unknown): void {
  if (isMsgEncrypted !== true) return;
  throw new DciError(
    "err.encryption.invalid",
    "Encrypted messages are not supported: send the message in plain text with header.is_msg_encrypted false",
  );
}

/** Refuses a header.action the endpoint does not take (compared case-insensitively) with `rjct.action.invalid`. */
export function checkHeaderAction(spec: HeaderActions, action: unknown): void {
  if (typeof action === "string" && spec.headerActions.includes(action.toLowerCase())) return;
  throw new DciRejection(
    "rjct.action.invalid",
    `header.action ${JSON.stringify(action)} does not match this endpoint (expected "${
      spec.headerActions[0]
    }")`,
  );
}
