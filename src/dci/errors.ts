/** Protocol errors: one class, one catalog mapping code to HTTP status. */

/** Transport and trust failure codes (answered with the ERR ACK). */
export const ERR_CODES = [
  "err.request.bad",
  "err.request.unauthorized",
  "err.request.forbidden",
  "err.request.not_found",
  "err.request.timeout",
  "err.version.not_supported",
  "err.request.too_many_requests",
  "err.sender_id.invalid",
  "err.sender_uri.invalid",
  "err.receiver_id.invalid",
  "err.signature.missing",
  "err.signature.invalid",
  "err.encryption.invalid",
  "err.service.unavailable",
] as const;

/** A transport/trust error code. */
export type ErrCode = typeof ERR_CODES[number];

/** Header-level business rejection codes. */
export const HEADER_RJCT_CODES = [
  "rjct.version.invalid",
  "rjct.message_id.duplicate",
  "rjct.message_ts.invalid",
  "rjct.action.invalid",
  "rjct.action.not_supported",
  "rjct.total_count.invalid",
  "rjct.total_count.limit_exceeded",
  "rjct.errors.too_many",
] as const;

/** A header-level rejection code. */
export type HeaderRjctCode = typeof HEADER_RJCT_CODES[number];

const STATUS: Record<ErrCode, number> = {
  "err.request.bad": 400,
  "err.request.unauthorized": 401,
  "err.request.forbidden": 403,
  "err.request.not_found": 404,
  "err.request.timeout": 408,
  "err.version.not_supported": 400,
  "err.request.too_many_requests": 429,
  "err.sender_id.invalid": 401,
  "err.sender_uri.invalid": 400,
  "err.receiver_id.invalid": 400,
  "err.signature.missing": 401,
  "err.signature.invalid": 401,
  "err.encryption.invalid": 400,
  "err.service.unavailable": 503,
};

/** A protocol error thrown by handlers and middleware; only `app.onError` renders it. */
export class DciError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;

  constructor(
    readonly code: ErrCode,
    message: string,
    options: { status?: number; headers?: Record<string, string> } = {},
  ) {
    super(message.slice(0, 999));
    this.name = "DciError";
    this.status = options.status ?? STATUS[code];
    this.headers = options.headers ?? {};
  }
}

/** A business rejection of a whole request at header level, answered as a `rjct` callback header. */
export class DciRejection extends Error {
  constructor(readonly code: HeaderRjctCode, message: string) {
    super(message.slice(0, 999));
    this.name = "DciRejection";
  }
}

/** The HTTP status a code maps to. */
export function statusOf(code: ErrCode): number {
  return STATUS[code];
}
