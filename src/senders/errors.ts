/** The one error the sender services and stores throw for a refusal the operator can fix. */

/** A sender operation refused for a reason the operator can fix (maps to 400/404/409). */
export class SenderError extends Error {
  constructor(readonly kind: "invalid" | "not_found" | "conflict", message: string) {
    super(message);
    this.name = "SenderError";
  }
}

/** The not_found refusal for a sender id that is not registered. */
export function noSuchSender(senderId: string): SenderError {
  return new SenderError("not_found", `sender "${senderId}" does not exist`);
}
