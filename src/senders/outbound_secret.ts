/**
 * The one stored secret of a sender: the static bearer token or OAuth2 client secret its receivers want. It is
 * sealed with the key-encryption key when one is set (at_rest.ts converts stored values when that changes) and
 * bound to its row, so a value copied to another sender's row does not open.
 */
import type { Deps } from "../deps.ts";

/** The additional data a sender's sealed outbound secret is bound to. */
export function outboundSecretAad(senderId: string): string {
  return `senders.outbound_secret:${senderId}`;
}

/** Stores `secret` for `senderId` (the value to write in senders.outbound_secret). */
export function sealOutboundSecret(deps: Pick<Deps, "keys">, senderId: string, secret: string): string {
  return deps.keys.sealSecret(secret, outboundSecretAad(senderId));
}

/** Reads back a sender's stored outbound secret. */
export function openOutboundSecret(deps: Pick<Deps, "keys">, senderId: string, stored: string): string {
  return deps.keys.openSecret(stored, outboundSecretAad(senderId));
}
