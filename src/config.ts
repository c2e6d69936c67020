/**
 * Configuration: environment variables and CLI flags validated by one zod schema into a frozen Config.
 * This is the module that reads `Deno.env` (besides a head start, a temp dir and the audit's SUDO_USER: README,
 * Layout).
 */
import { z } from "zod";
import { Cron } from "croner";
import { parseCidr } from "./net/ip.ts";
import { AllowlistError, parseAllowlist } from "./net/allowlist.ts";
import { DenylistError, parseDenylist } from "./net/denylist.ts";

const bool = z.union([z.boolean(), z.enum(["true", "false", "1", "0", "yes", "no"])]).transform((v) =>
  typeof v === "boolean" ? v : ["true", "1", "yes"].includes(v)
);
const WHOLE = "expected a whole number";
/** A whole number setting; an empty value is refused, not read as 0 (z.coerce makes "" and " " zero). */
const int = (min: number, max: number) =>
  z.string().refine((s) => s.trim() !== "", "empty: remove the line or give a number")
    .transform(Number).pipe(
      z.number({ error: (issue) => issue.code === "invalid_type" ? WHOLE : undefined }).int(WHOLE).min(min)
        .max(max),
    );
const list = z.string().transform((s) => s.split(",").map((x) => x.trim()).filter((x) => x.length > 0));

/** A comma list that `parse` accepts whole; the `Refusal` it throws is the setting's issue (naming the entry). */
function checkedList(parse: (entries: string[]) => unknown, Refusal: new (message: string) => Error) {
  return list.superRefine((entries, ctx) => {
    try {
      parse(entries);
    } catch (err) {
      if (!(err instanceof Refusal)) throw err;
      ctx.addIssue({ code: "custom", message: err.message });
    }
  });
}
/** `host:port` (IPv6 in brackets), port 0–65535. */
const hostPort = z.string().regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, "expected host:port")
  .refine((s) => Number(s.slice(s.lastIndexOf(":") + 1)) <= 65535, "port must be 0-65535");
const delays = z.string().regex(/^\s*\d+(\s*,\s*\d+)*\s*$/, "expected a comma list of milliseconds")
  .transform((s) => s.split(",").map((x) => Number(x.trim())));

/** Five fields of digits, "*", ",", "-" and "/": Deno.cron's syntax (names and "?" aside). */
const CRON_SYNTAX = /^[0-9*,\/-]+(\s+[0-9*,\/-]+){4}$/;

/**
 * Adds an issue when Deno.cron would refuse a 5-field expression: croner dry-runs it (ranges, steps) with
 * Deno.cron's weekdays (1-7, 1 = Sunday; 0 is refused).
 */
function checkCron(expr: string, ctx: z.RefinementCtx): void {
  if (!CRON_SYNTAX.test(expr)) return; // the syntax check reports it
  const weekdays = expr.split(/\s+/)[4].split(",").map((part) => part.split("/")[0].match(/\d+/g) ?? []);
  if (weekdays.flat().some((d) => Number(d) < 1 || Number(d) > 7)) {
    ctx.addIssue({ code: "custom", message: "day of week is 1-7 (1 = Sunday, as Deno.cron counts)" });
    return;
  }
  try {
    new Cron(expr, { mode: "5-part", alternativeWeekdays: true, timezone: "UTC", paused: true }).stop();
  } catch (err) {
    ctx.addIssue({ code: "custom", message: (err as Error).message.replace(/^CronPattern: /, "") });
  }
}

/** A registry name as DCI_REGISTRIES and paths write it (a deployment's own registries' too). */
export const REGISTRY_NAME = /^[a-z][a-z0-9_-]{0,31}$/;

/** One setting: its environment variable, CLI flag (if any), default and description. */
export interface Setting {
  key: keyof Config;
  env: string;
  flag?: string;
  default: string;
  doc: string;
}

/** Every setting, in the order of `.env.example` and the README table. */
export const SETTINGS: readonly Setting[] = [
  {
    key: "port",
    env: "DCI_PORT",
    flag: "port",
    default: "8080",
    doc: "TCP port to listen on (0 = any free)",
  },
  { key: "host", env: "DCI_HOST", flag: "host", default: "127.0.0.1", doc: "Address to bind" },
  { key: "dataDir", env: "DCI_DATA_DIR", flag: "data-dir", default: "./data", doc: "SQLite and KV files" },
  {
    key: "databaseUrl",
    env: "DCI_DATABASE_URL",
    default: "",
    doc:
      "PostgreSQL database (postgres://user:password@host:port/db; a /, ?, # or @ in the user or password percent-encoded) instead of the embedded SQLite file, for several instances on one database; empty = embedded SQLite (see High availability)",
  },
  {
    key: "databasePoolSize",
    env: "DCI_DATABASE_POOL_SIZE",
    default: "10",
    doc: "PostgreSQL connections per isolate (DCI_DATABASE_URL only)",
  },
  {
    key: "databaseQueryTimeoutMs",
    env: "DCI_DATABASE_QUERY_TIMEOUT_MS",
    default: "30000",
    doc:
      "How long a PostgreSQL query may go unanswered before the server asks the database, on a new connection, what the query's connection is doing; if that gets no answer either (a frozen database) or the database runs no query for that connection (a connection gone silent on the way), the query fails (503, Retry-After) and its connection is dropped. A query the database is still working on (a migration, an index build, a wait for a lock) is never cut. 0 = never (DCI_DATABASE_URL only)",
  },
  {
    key: "sqliteCacheMb",
    env: "DCI_SQLITE_CACHE_MB",
    default: "8",
    doc:
      "SQLite page cache per connection (one per isolate), in MB; SQLite empties a connection's cache whenever another connection has committed, so on a busy server a larger one buys little",
  },
  {
    key: "publicUrl",
    env: "DCI_PUBLIC_URL",
    flag: "public-url",
    default: "",
    doc:
      "Public base URL, with any path prefix a proxy strips (e.g. https://gw.example.org/dci): the token issuer, the OpenAPI servers entry and every absolute URL the server emits; default http(s)://HOST:PORT",
  },
  {
    key: "tlsCert",
    env: "DCI_TLS_CERT",
    default: "",
    doc:
      "PEM file of the TLS certificate chain (leaf first); with DCI_TLS_KEY the server speaks HTTPS only. Re-read on SIGHUP (a bad new pair is logged and the old one keeps serving)",
  },
  {
    key: "tlsKey",
    env: "DCI_TLS_KEY",
    default: "",
    doc:
      "PEM file of the TLS private key (unencrypted: PKCS#8, or PKCS#1 RSA / SEC1 EC; RSA, EC or Ed25519) of DCI_TLS_CERT",
  },
  { key: "senderId", env: "DCI_SENDER_ID", default: "dci-server", doc: "This server's DCI sender id" },
  {
    key: "receiverAliases",
    env: "DCI_RECEIVER_ALIASES",
    default: "",
    doc:
      "Other names partners give this server in header.receiver_id (comma list, compared exactly); the sender id always counts, any other receiver_id is refused err.receiver_id.invalid",
  },
  {
    key: "registries",
    env: "DCI_REGISTRIES",
    default: "all",
    doc:
      "Registries this server serves: a comma list of social, crvs, fr, dr, ibr, or all (every registry this binary has); a deployment's own registries (startServer) are served whatever it says. The others answer 404 with an ERR ACK on all their paths; an unknown name is refused at start",
  },
  {
    key: "defaultRegistry",
    env: "DCI_DEFAULT_REGISTRY",
    default: "social",
    doc:
      "The registry the prefix-less /registry/… and /dci_api/v1/registry/… paths serve (one of DCI_REGISTRIES)",
  },
  { key: "logLevel", env: "DCI_LOG_LEVEL", flag: "log-level", default: "info", doc: "debug|info|warn|error" },
  { key: "bodyLimit", env: "DCI_BODY_LIMIT", default: "1048576", doc: "Maximum request body in bytes" },
  {
    key: "bodyIdleTimeoutMs",
    env: "DCI_BODY_IDLE_TIMEOUT_MS",
    default: "30000",
    doc:
      "A request body of unknown length (chunked) or declared over 64 KiB that sends nothing for this long while the server waits for it is refused with 408 (err.request.timeout) and its request's resources (upload slot, spool) released; 0 = no bound (a bulk search upload keeps its own: 5 min or half of DCI_BULK_SPOOL_GRACE_SECONDS). Deno cannot close the connection itself: keep a proxy's body timeout in front",
  },
  {
    key: "importUploadMaxBytes",
    env: "DCI_IMPORT_UPLOAD_MAX_BYTES",
    default: "104857600",
    doc:
      "Largest registry import file the admin API and the console accept (bytes; spooled to <data dir>/imports)",
  },
  {
    key: "shutdownTimeoutMs",
    env: "DCI_SHUTDOWN_TIMEOUT_MS",
    default: "10000",
    doc: "Time in-flight requests get on SIGINT/SIGTERM",
  },
  {
    key: "worker",
    env: "DCI_WORKER",
    default: "true",
    doc: "Run the queue worker and cron schedules in this process",
  },
  {
    key: "adminToken",
    env: "DCI_ADMIN_TOKEN",
    default: "",
    doc: "If set, registered at start as an admin token (stored hashed)",
  },
  {
    key: "keyEncryptionKey",
    env: "DCI_KEY_ENCRYPTION_KEY",
    default: "",
    doc:
      "Key-encryption key (32 random bytes, base64): private keys are stored encrypted with it (AES-256-GCM)",
  },
  {
    key: "keyEncryptionKeyFile",
    env: "DCI_KEY_ENCRYPTION_KEY_FILE",
    default: "",
    doc: "File holding the key-encryption key (base64 or 32 raw bytes), outside the data dir",
  },
  {
    key: "keyEncryptionKeyPrevious",
    env: "DCI_KEY_ENCRYPTION_KEY_PREVIOUS",
    default: "",
    doc: "The replaced key-encryption key during a rotation: values it sealed are re-sealed at start",
  },
  {
    key: "keyEncryptionKeyPreviousFile",
    env: "DCI_KEY_ENCRYPTION_KEY_PREVIOUS_FILE",
    default: "",
    doc: "File holding the previous key-encryption key",
  },
  {
    key: "keyPublishSeconds",
    env: "DCI_KEY_PUBLISH_SECONDS",
    default: "600",
    doc:
      "How long `keys rotate` publishes the new signing key before it signs (partners cache the JWKS up to 300 s); 0 signs at once",
  },
  {
    key: "signaturePolicy",
    env: "DCI_SIGNATURE_POLICY",
    default: "required",
    doc:
      "Envelope signature policy of senders without their own (sender setting signature_policy): required|optional|off",
  },
  {
    key: "testSignaturePlaceholders",
    env: "DCI_TEST_SIGNATURE_PLACEHOLDERS",
    default: "unsigned,unsigned-stub",
    doc:
      "Comma list of literal signature values that count as no signature from a sender marked test (any other value is verified)",
  },
  {
    key: "tokenTtlSeconds",
    env: "DCI_TOKEN_TTL_SECONDS",
    default: "3600",
    doc: "OAuth2 access token lifetime",
  },
  {
    key: "tokenIpLimitPerMinute",
    env: "DCI_TOKEN_IP_LIMIT_PER_MINUTE",
    default: "30",
    doc: "Token requests per client IP per minute",
  },
  {
    key: "tokenClientFailureLimit",
    env: "DCI_TOKEN_CLIENT_FAILURE_LIMIT",
    default: "10",
    doc:
      "Failed token requests per client id and address (IPv6 by /64) per rolling minute before that id is locked for that address (until the failures age out)",
  },
  {
    key: "adminLoginIpFailureLimit",
    env: "DCI_ADMIN_LOGIN_IP_FAILURE_LIMIT",
    default: "10",
    doc:
      "Failed admin-token checks (console login, admin API bearer) (checks that run scrypt, and with DCI_ADMIN_TOKEN set a token of neither token form; other malformed tokens and unknown ids are not counted) per client IP per rolling minute before that client gets 429 (until the failures age out)",
  },
  {
    key: "adminLoginFailureLimit",
    env: "DCI_ADMIN_LOGIN_FAILURE_LIMIT",
    default: "100",
    doc:
      "Failed admin-token checks from all clients per rolling minute before every new check gets 429 (a token this isolate verified within the day, and a guess at DCI_ADMIN_TOKEN, count against their address's limit only): bounds the scrypt work guesses can cause",
  },
  {
    key: "tokenHashConcurrency",
    env: "DCI_TOKEN_HASH_CONCURRENCY",
    default: "1",
    doc:
      "Client-secret hashes (scrypt) run at once per HTTP isolate; a request finding the queue full gets 503",
  },
  {
    key: "trustedProxies",
    env: "DCI_TRUSTED_PROXIES",
    default: "",
    doc:
      "Comma list of proxy CIDRs whose Forwarded / X-Forwarded-For / X-Forwarded-Proto headers are honoured (client IP in logs and limits)",
  },
  {
    key: "rateLimitMinute",
    env: "DCI_RATE_LIMIT_MINUTE",
    default: "60",
    doc: "Default requests per sender per minute",
  },
  {
    key: "rateLimitDay",
    env: "DCI_RATE_LIMIT_DAY",
    default: "10000",
    doc: "Default requests per sender per UTC day",
  },
  {
    key: "replayWindowSeconds",
    env: "DCI_REPLAY_WINDOW_SECONDS",
    default: "600",
    doc: "message_id replay window and message_ts tolerance",
  },
  {
    key: "jwksRefreshMinutes",
    env: "DCI_JWKS_REFRESH_MINUTES",
    default: "60",
    doc:
      "How often sender JWKS URLs are re-fetched (checked every 5 minutes: a sender's is fetched again once its last fetch is older than this); a signature naming a key id the sender lacks also fetches its JWKS at once (at most once a minute per sender and isolate)",
  },
  {
    key: "outboundAllow",
    env: "DCI_OUTBOUND_ALLOW",
    default: "",
    doc:
      "Comma list of destinations outbound calls may reach despite the SSRF guard (http allowed for them): host, host:port, IP, IP:port, CIDR, CIDR:port, [IPv6]:port; prefix SENDER= to allow it only for that sender's callbacks, notifications and JWKS",
  },
  {
    key: "outboundDeny",
    env: "DCI_OUTBOUND_DENY",
    default: "",
    doc:
      "Comma list of destinations outbound calls never reach, allowlisted or not: host, .domain (the domain and every name under it), IP, CIDR; a name is refused as the URL names it and whatever it resolves to in a denied range (an operator's own networks on public addresses, which the SSRF guard does not know)",
  },
  {
    key: "outboundTimeoutMs",
    env: "DCI_OUTBOUND_TIMEOUT_MS",
    default: "10000",
    doc:
      "Outbound HTTP timeout: the time a receiver gets (connect, send, answer), counted from when the request holds its outbound slot. Resolving and vetting its name before it, and a wait for a slot, are each bounded by as much again; a callback or notification that waited it out was not sent, counts as no attempt and is tried again within a second",
  },
  {
    key: "outboundMaxBytes",
    env: "DCI_OUTBOUND_MAX_BYTES",
    default: "1048576",
    doc: "Largest outbound response body read",
  },
  {
    key: "outboundConcurrency",
    env: "DCI_OUTBOUND_CONCURRENCY",
    default: "16",
    doc:
      "Concurrent outbound requests per isolate (callbacks and notifications all go out from the worker's)",
  },
  {
    key: "outboundPerDestination",
    env: "DCI_OUTBOUND_PER_DESTINATION",
    default: "4",
    doc:
      "Of those, concurrent requests to one destination (scheme://host:port): a receiver that never answers holds no more",
  },
  {
    key: "outboundPerSender",
    env: "DCI_OUTBOUND_PER_SENDER",
    default: "8",
    doc: "Of those, concurrent requests for one sender (its callbacks, notifications, JWKS fetches)",
  },
  {
    key: "outboundIdleMs",
    env: "DCI_OUTBOUND_IDLE_MS",
    default: "4000",
    doc:
      "Outbound keep-alive: an idle connection to a receiver is kept this long for the next request to the same vetted address (below common servers' keep-alive timeouts); 0 = a new connection per request",
  },
  {
    key: "metricsToken",
    env: "DCI_METRICS_TOKEN",
    default: "",
    doc: "If set, GET /metrics requires Authorization: Bearer <this token>",
  },
  {
    key: "metricsListen",
    env: "DCI_METRICS_LISTEN",
    default: "",
    doc: "host:port of a separate listener for /metrics; when set, /metrics is not served on the main port",
  },
  {
    key: "seedDemo",
    env: "DCI_SEED_DEMO",
    default: "true",
    doc:
      "Seed every served registry (DCI_DEMO_SIZE records each, the partner test records such as TEST-001 among them) and the demo place hierarchy when no registry holds a record; set false before a production data dir's first start",
  },
  {
    key: "demoSize",
    env: "DCI_DEMO_SIZE",
    default: "200",
    doc: "Records each registry's start-up demo holds (social: persons, with their households); 0 seeds none",
  },
  { key: "maxPageSize", env: "DCI_MAX_PAGE_SIZE", default: "100", doc: "Largest search page size" },
  {
    key: "maxSearchItems",
    env: "DCI_MAX_SEARCH_ITEMS",
    default: "10",
    doc: "Most search/subscribe items in one request",
  },
  {
    key: "bulkMaxItems",
    env: "DCI_BULK_MAX_ITEMS",
    default: "1000000",
    doc: "Most lookups in one bulk search file (multipart upload)",
  },
  {
    key: "bulkMaxFileBytes",
    env: "DCI_BULK_MAX_FILE_BYTES",
    default: "268435456",
    doc: "Largest bulk search upload in bytes (streamed to the data dir)",
  },
  {
    key: "bulkPageSize",
    env: "DCI_BULK_PAGE_SIZE",
    default: "1000",
    doc: "Answers per on-search callback page of a bulk search",
  },
  {
    key: "bulkMaxOpenPerSender",
    env: "DCI_BULK_MAX_OPEN_PER_SENDER",
    default: "4",
    doc:
      "Most bulk searches one sender may have open (accepted, not yet delivered or failed); its next upload is refused 429 before its body is read",
  },
  {
    key: "bulkSpoolGraceSeconds",
    env: "DCI_BULK_SPOOL_GRACE_SECONDS",
    default: "3600",
    doc:
      "A bulk search spool file of no live transaction (an upload that crashed or was refused) is removed once it is this old; an upload still sending keeps its file younger",
  },
  {
    key: "callbackRetryDelaysMs",
    env: "DCI_CALLBACK_RETRY_DELAYS_MS",
    default: "60000,120000,240000",
    doc: "Callback/notification retry delays (ms)",
  },
  {
    key: "leaseSeconds",
    env: "DCI_LEASE_SECONDS",
    default: "120",
    doc:
      "How long a claim on a transaction's step lasts without renewal (renewed every quarter while the step runs); a step whose worker died is redone once it lapses; a DCI_PROCESS_TIMEOUT_MS that is set must be below it",
  },
  {
    key: "sweepIntervalSeconds",
    env: "DCI_SWEEP_INTERVAL_SECONDS",
    default: "60",
    doc:
      "How often the sweeper removes spool files of no live work and looks for queued imports (due transactions and notifications: the due-work poll, every 200 ms)",
  },
  {
    key: "processAttempts",
    env: "DCI_PROCESS_ATTEMPTS",
    default: "3",
    doc:
      "Processing attempts of an async transaction (counted before each run, so crashes count) before it is answered rjct (recorded as rjct.processing.failed)",
  },
  {
    key: "processTimeoutMs",
    env: "DCI_PROCESS_TIMEOUT_MS",
    default: "30000",
    doc: "Time budget of one processing attempt; an attempt over it counts as failed",
  },
  {
    key: "subscriptionLimit",
    env: "DCI_SUBSCRIPTION_LIMIT",
    default: "100",
    doc: "Live subscriptions (pending, active, or in error until they expire) per sender",
  },
  {
    key: "subscriptionFailureLimit",
    env: "DCI_SUBSCRIPTION_FAILURE_LIMIT",
    default: "5",
    doc: "Consecutive failed notifications before a subscription moves to error",
  },
  {
    key: "subscriptionErrorExpiryDays",
    env: "DCI_SUBSCRIPTION_ERROR_EXPIRY_DAYS",
    default: "14",
    doc:
      'Days a subscription may stay in error (its notifications still logged, held for a reactivation) before it expires and what it holds is failed with "subscription expired"; 0 keeps it until an operator acts',
  },
  {
    key: "notifyBatchMax",
    env: "DCI_NOTIFY_BATCH_MAX",
    default: "100",
    doc:
      "Most events in one batched notify of a subscription with a cron frequency (more events due at once go in several notifies, in order)",
  },
  {
    key: "notifyBatchBytes",
    env: "DCI_NOTIFY_BATCH_BYTES",
    default: "262144",
    doc:
      "Most bytes of records, as stored, in one batched notify (the first event whatever its size); the body is about twice that",
  },
  {
    key: "searchMaxResults",
    env: "DCI_SEARCH_MAX_RESULTS",
    default: "10000",
    doc: "A search matching more records is rejected (rjct.search.too_many_records_found)",
  },
  {
    key: "searchBudgetMs",
    env: "DCI_SEARCH_BUDGET_MS",
    default: "100",
    doc:
      "SQL time one search request may use (all its items, sync or async); a query that needs more is stopped and answered rjct.search.too_many_records_found",
  },
  {
    key: "searchWorkers",
    env: "DCI_SEARCH_WORKERS",
    default: "2",
    doc:
      "Search workers per isolate (Web Workers with their own SQLite connection) for searches that may examine many records, one running search per sender at a time; 0 = search in the isolate that received the request",
  },
  {
    key: "httpIsolates",
    env: "DCI_HTTP_ISOLATES",
    default: "1",
    doc:
      "HTTP isolates (Web Workers on one shared port); 0 = serve in the main isolate. Default 1: accepts never wait behind the queue worker, notifier and cron, which stay in the main isolate. Not with DCI_DATA_DIR=:memory: (an in-memory database is one isolate's: served from the main isolate)",
  },
  {
    key: "isolateHangSeconds",
    env: "DCI_ISOLATE_HANG_SECONDS",
    default: "60",
    doc:
      "An HTTP isolate whose event loop has not answered the main isolate's check (every few seconds) for this long (at least twice DCI_SEARCH_BUDGET_MS) is reported and the server stops with a failure, so that its supervisor restarts it (a hung isolate answers none of the requests the shared port gives it); 0 = no check",
  },
  {
    key: "backupCron",
    env: "DCI_BACKUP_CRON",
    default: "",
    doc:
      'When to take scheduled backups of the database (a 5-field cron expression, UTC, e.g. "0 3 * * *"); empty = none. Runs in the worker process',
  },
  {
    key: "backupDir",
    env: "DCI_BACKUP_DIR",
    default: "",
    doc:
      "Where scheduled, `dci-server backup` and pre-migration backups go; empty = <data dir>/backups. Keep it on another disk, with the same care as the data dir (it holds the same secrets)",
  },
  {
    key: "backupKeep",
    env: "DCI_BACKUP_KEEP",
    default: "7",
    doc:
      "Scheduled backups kept in DCI_BACKUP_DIR; older ones are deleted after each new one (pre-migration backups are never deleted)",
  },
  {
    key: "auditRetentionDays",
    env: "DCI_AUDIT_RETENTION_DAYS",
    default: "365",
    doc: "Days the audit log of admin writes is kept; older entries are deleted daily by the worker process",
  },
  {
    key: "transactionRetentionDays",
    env: "DCI_TRANSACTION_RETENTION_DAYS",
    default: "90",
    doc:
      "Days a finished transaction (callback sent or failed) is kept, with its callback attempts and bulk pages; older ones are deleted daily by the worker process (0 keeps them forever). A txn/status for a deleted one finds nothing",
  },
  {
    key: "notificationRetentionDays",
    env: "DCI_NOTIFICATION_RETENTION_DAYS",
    default: "90",
    doc:
      "Days a delivered or failed notification is kept in the notification log; older ones are deleted daily by the worker process (0 keeps them forever). Pending ones are never deleted",
  },
  {
    key: "eventRetentionDays",
    env: "DCI_EVENT_RETENTION_DAYS",
    default: "90",
    doc:
      "Days a registry change event is kept once a later change of the same record follows it (each record's newest event, and every event a subscription's fan-out or a pending or failed notification still reads, stay); older ones are deleted daily by the worker process (0 keeps them forever)",
  },
  {
    key: "subscriptionRetentionDays",
    env: "DCI_SUBSCRIPTION_RETENTION_DAYS",
    default: "90",
    doc:
      "Days an ended subscription (cancelled or expired) is kept after it ended; then it is deleted daily by the worker process once none of its notifications is left (see DCI_NOTIFICATION_RETENTION_DAYS; 0 keeps them forever). A status or unsubscribe of a deleted one finds nothing, and an operator-chosen seed code may be used again",
  },
  {
    key: "importRetentionDays",
    env: "DCI_IMPORT_RETENTION_DAYS",
    default: "90",
    doc:
      "Days a finished registry import job (done or failed) is kept with its rejected rows; older ones are deleted daily by the worker process (0 keeps them forever)",
  },
  {
    key: "consoleSessionTtl",
    env: "DCI_CONSOLE_SESSION_TTL",
    default: "8h",
    doc:
      "How long an operator console login lasts (seconds, or a number with s, m, h or d: 30m, 8h); then the console asks for the token again",
  },
];

const schema = z.object({
  port: int(0, 65535),
  host: z.string().min(1),
  dataDir: z.string().min(1),
  sqliteCacheMb: int(1, 4096),
  databasePoolSize: int(1, 1000),
  databaseQueryTimeoutMs: int(0, 3_600_000),
  publicUrl: z.union([z.literal(""), z.url({ protocol: /^https?$/ })]),
  // Whether the files are readable PEM and belong together is checked when serving starts (src/net/tls.ts).
  tlsCert: z.string().max(4096),
  tlsKey: z.string().max(4096),
  // A domain or URL like a partner's sender id, but without "|": partners split our kid "{id}|{key}|{alg}" on it.
  senderId: z.string().regex(
    /^[\x21-\x7b\x7d\x7e]{1,255}$/,
    'expected 1 to 255 printable ASCII characters without whitespace or "|"',
  ),
  receiverAliases: list.refine((xs) => xs.every((x) => /^[\x21-\x7e]{1,255}$/.test(x)), {
    message: "each alias is 1 to 255 printable ASCII characters without spaces",
  }),
  // Names only here; whether each is a registry this binary (and the deployment's extensions) has, and whether the
  // default is served, is checked at start against the profiles (src/actions/registries.ts).
  registries: list.refine((xs) => xs.length > 0, "name at least one registry, or all").refine(
    (xs) => xs.every((x) => REGISTRY_NAME.test(x)),
    "each registry name is 1 to 32 lowercase letters, digits, - or _ (or all)",
  ),
  defaultRegistry: z.string().regex(
    REGISTRY_NAME,
    "expected a registry name (lowercase letters, digits, - or _)",
  ),
  logLevel: z.enum(["debug", "info", "warn", "error"]),
  bodyLimit: int(1024, 100 * 1024 * 1024),
  bodyIdleTimeoutMs: int(0, 3_600_000),
  importUploadMaxBytes: int(1024, 10 * 1024 * 1024 * 1024),
  shutdownTimeoutMs: int(0, 600_000),
  worker: bool,
  // As an Authorization header and the console's login field carry it: printable ASCII, no spaces, ≤ 512.
  adminToken: z.union([
    z.literal(""),
    z.string().min(24, "an admin token needs at least 24 characters").max(
      512,
      "an admin token has at most 512",
    )
      .regex(/^[\x21-\x7e]+$/, "an admin token is printable ASCII without spaces"),
  ]),
  // Checked when loaded (src/keys/kek.ts), so that a mistake is reported without echoing the key.
  keyEncryptionKey: z.string(),
  keyEncryptionKeyFile: z.string(),
  keyEncryptionKeyPrevious: z.string(),
  keyEncryptionKeyPreviousFile: z.string(),
  keyPublishSeconds: int(0, 86_400),
  signaturePolicy: z.enum(["required", "optional", "off"]),
  testSignaturePlaceholders: list.refine((xs) => xs.every((x) => /^[\x21-\x7e]{1,64}$/.test(x)), {
    message: "expected a comma list of printable ASCII words of at most 64 characters",
  }),
  tokenTtlSeconds: int(60, 86_400),
  tokenIpLimitPerMinute: int(1, 1_000_000),
  tokenClientFailureLimit: int(1, 1_000_000),
  tokenHashConcurrency: int(1, 64),
  adminLoginIpFailureLimit: int(1, 1_000_000),
  adminLoginFailureLimit: int(1, 1_000_000),
  trustedProxies: list.refine((xs) => xs.every((x) => parseCidr(x) !== undefined), {
    message: "expected a comma list of IP addresses or CIDRs (e.g. 10.0.0.0/8, ::1)",
  }),
  rateLimitMinute: int(1, 10_000_000),
  rateLimitDay: int(1, 1_000_000_000),
  replayWindowSeconds: int(10, 86_400),
  jwksRefreshMinutes: int(1, 10_080),
  outboundAllow: checkedList(parseAllowlist, AllowlistError),
  outboundDeny: checkedList(parseDenylist, DenylistError),
  outboundTimeoutMs: int(100, 120_000),
  outboundMaxBytes: int(1024, 100 * 1024 * 1024),
  outboundConcurrency: int(1, 1024),
  outboundPerDestination: int(1, 1024),
  outboundPerSender: int(1, 1024),
  outboundIdleMs: int(0, 60_000),
  metricsToken: z.union([z.literal(""), z.string().min(24, "a metrics token needs at least 24 characters")]),
  metricsListen: z.union([z.literal(""), hostPort]),
  seedDemo: bool,
  demoSize: int(0, 1_000_000),
  maxPageSize: int(1, 10_000),
  maxSearchItems: int(1, 1000),
  bulkMaxItems: int(1, 10_000_000),
  bulkMaxFileBytes: int(1024, 4 * 1024 * 1024 * 1024),
  bulkPageSize: int(1, 10_000),
  bulkMaxOpenPerSender: int(1, 1_000),
  bulkSpoolGraceSeconds: int(60, 30 * 86_400),
  callbackRetryDelaysMs: delays,
  leaseSeconds: int(1, 86_400),
  sweepIntervalSeconds: int(1, 3600),
  processAttempts: int(1, 100),
  processTimeoutMs: int(100, 3_600_000),
  subscriptionLimit: int(1, 100_000),
  subscriptionFailureLimit: int(1, 1000),
  subscriptionErrorExpiryDays: int(0, 36_500),
  notifyBatchMax: int(1, 1000),
  notifyBatchBytes: int(1024, 67_108_864),
  searchMaxResults: int(1, 10_000_000),
  searchBudgetMs: int(1, 600_000),
  searchWorkers: int(0, 64),
  httpIsolates: int(0, 64),
  isolateHangSeconds: int(0, 86_400),
  // Five fields of digits, "*", ",", "-" and "/" (Deno.cron's syntax), each value in its range: checked here so
  // that a typo stops the start with the variable's name rather than failing when the schedule is registered.
  backupCron: z.union([
    z.literal(""),
    z.string().trim().regex(CRON_SYNTAX, "expected a 5-field cron expression").superRefine(checkCron),
  ]),
  backupDir: z.string(),
  databaseUrl: z.union([
    z.literal(""),
    z.string().trim().regex(
      /^postgres(ql)?:\/\/\S+$/,
      "expected postgres://user:password@host:port/database",
    ).refine(
      isPostgresUrl,
      "not a URL: percent-encode a /, ?, # or @ in the user name or password (%2F, %3F, %23, %40)",
    ),
  ]),
  backupKeep: int(1, 10_000),
  auditRetentionDays: int(1, 36_500),
  transactionRetentionDays: int(0, 36_500),
  notificationRetentionDays: int(0, 36_500),
  eventRetentionDays: int(0, 36_500),
  subscriptionRetentionDays: int(0, 36_500),
  importRetentionDays: int(0, 36_500),
  // Seconds, from "3600", "3600s", "30m", "8h" or "1d"; at least a minute, at most 30 days.
  consoleSessionTtl: z.string().trim().regex(
    /^\d{1,7}[smhd]?$/,
    "expected seconds or a number with s, m, h or d",
  )
    .transform((s) => Number(s.replace(/[smhd]$/, "")) * ({ m: 60, h: 3600, d: 86_400 }[s.slice(-1)] ?? 1))
    .pipe(z.number().int().min(60, "at least 60 seconds").max(30 * 86_400, "at most 30 days")),
});

/** Settings whose values are secrets: a validation error names them without their value. */
/**
 * Whether DCI_DATABASE_URL parses as the driver parses it (a URL with a host and a numeric port, if any): one it
 * cannot parse fails with an error that repeats the whole URL, password and all.
 */
function isPostgresUrl(value: string): boolean {
  // As pg-connection-string reads it: spaces and stray % encoded, an empty host (a socket's `?host=`) allowed.
  const text = /\s|%[^a-f0-9]|%[a-f0-9][^a-f0-9]/i.test(value)
    ? encodeURI(value).replace(/%25(\d\d)/g, "%$1")
    : value;
  return URL.canParse(text) || URL.canParse(text.replace("@/", "@x/"));
}

const SECRET_SETTINGS = new Set([
  "databaseUrl",
  "adminToken",
  "keyEncryptionKey",
  "keyEncryptionKeyPrevious",
  "metricsToken",
]);

/** The validated, frozen configuration. */
export type Config = Readonly<z.output<typeof schema>>;

/** Thrown when a setting is invalid; the message names the variable. */
export class ConfigError extends Error {}

/**
 * Builds the Config from flags (already parsed, by flag name) over environment variables over defaults; the
 * environment defaults to the process's own (`processEnv` adds the env file's).
 */
export function loadConfig(
  flags: Record<string, string | undefined> = {},
  env: Record<string, string | undefined> = Deno.env.toObject(),
): Config {
  const raw: Record<string, string> = {};
  const source: Record<string, string> = {};
  for (const s of SETTINGS) {
    const fromFlag = s.flag ? flags[s.flag] : undefined;
    const fromEnv = env[s.env];
    raw[s.key] = fromFlag ?? fromEnv ?? s.default;
    source[s.key] = fromFlag !== undefined ? `--${s.flag}` : s.env;
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const key = String(i.path[0]);
      const shown = SECRET_SETTINGS.has(key) ? "[redacted]" : JSON.stringify(raw[key]);
      return `${source[key]}=${shown}: ${i.message}`;
    });
    throw new ConfigError(`Invalid configuration:\n  ${lines.join("\n  ")}`);
  }
  if ((parsed.data.tlsCert === "") !== (parsed.data.tlsKey === "")) {
    const given = parsed.data.tlsCert ? source.tlsCert : source.tlsKey;
    throw new ConfigError(
      `Invalid configuration:\n  ${given} is set without ${
        given === "DCI_TLS_CERT" ? "DCI_TLS_KEY" : "DCI_TLS_CERT"
      }: ` +
        "give both (certificate and key) for HTTPS, or neither for plain HTTP",
    );
  }
  // The worker renews a lease while its attempt runs; a budget below the lease still ends an attempt whose
  // renewals fail (a held write lock) before another instance may take it. Checked when a budget is given (the
  // default one beside a short lease, as tests set it, relies on the renewal alone).
  const { processTimeoutMs, leaseSeconds } = parsed.data;
  if (env.DCI_PROCESS_TIMEOUT_MS !== undefined && processTimeoutMs >= leaseSeconds * 1000) {
    throw new ConfigError(
      `Invalid configuration:\n  ${source.processTimeoutMs}=${processTimeoutMs} is not below ` +
        `${source.leaseSeconds} (${leaseSeconds} s): a processing attempt must end within the lease ` +
        "that holds it, or another instance may take the transaction and process it at the same time",
    );
  }
  if (parsed.data.databaseUrl !== "" && parsed.data.backupCron) {
    throw new ConfigError(
      `Invalid configuration:\n  ${source.backupCron} is set with ${source.databaseUrl}: scheduled backups copy ` +
        "the embedded SQLite database; back up PostgreSQL with its own tools (pg_dump, base backups with WAL " +
        "archiving, or the managed service's snapshots)",
    );
  }
  return Object.freeze(parsed.data);
}

/** The configuration tests use: in-memory friendly, short delays, no demo data. */
export function testConfig(overrides: Partial<Record<keyof Config, string>> = {}): Config {
  const env: Record<string, string> = {
    DCI_PORT: "0",
    DCI_DATA_DIR: ":memory:",
    DCI_LOG_LEVEL: "error",
    DCI_SEED_DEMO: "false",
    DCI_WORKER: "false",
    DCI_CALLBACK_RETRY_DELAYS_MS: "100,200,400",
  };
  for (const [k, v] of Object.entries(overrides)) {
    const s = SETTINGS.find((x) => x.key === k);
    if (s && v !== undefined) env[s.env] = v;
  }
  return loadConfig({}, env);
}

/** The public base URL: DCI_PUBLIC_URL or derived from host, port and whether the server speaks TLS. */
export function publicBaseUrl(config: Config, boundPort?: number): string {
  if (config.publicUrl) return config.publicUrl.replace(/\/+$/, "");
  return `${config.tlsCert ? "https" : "http"}://${
    config.host.includes(":") ? `[${config.host}]` : config.host
  }:${boundPort ?? config.port}`;
}

/** The global CLI flag naming an env file to read instead of `./.env`. */
export const ENV_FILE_FLAG = "env-file";

/** Largest env file read: settings are short; anything bigger is not an env file. */
const MAX_ENV_FILE_BYTES = 256 * 1024;

/**
 * The process environment over an env file: `envFile` (--env-file, which must exist) or else `./.env` when
 * present. A variable set in the real environment wins over the file, so a deployment can override one line.
 */
export function processEnv(envFile?: string, cwd = "."): Promise<Record<string, string>> {
  return withEnvFile(Deno.env.toObject(), envFile ?? `${cwd}/.env`, { required: envFile !== undefined });
}

/**
 * `env` over the variables of the env file at `path` (KEY=VALUE lines, dotenv syntax); `env` wins. dotenv is
 * CommonJS, whose loader costs a process ~60 ms: it is loaded only when there is a file to read.
 */
export async function withEnvFile(
  env: Record<string, string>,
  path: string,
  options: { required: boolean },
): Promise<Record<string, string>> {
  let text: string;
  try {
    const info = Deno.statSync(path);
    if (!info.isFile) throw new Error("not a regular file");
    if (info.size > MAX_ENV_FILE_BYTES) throw new Error(`larger than ${MAX_ENV_FILE_BYTES} bytes`);
    text = Deno.readTextFileSync(path);
  } catch (err) {
    if (!options.required && err instanceof Deno.errors.NotFound) return env;
    throw new ConfigError(`Cannot read the env file ${path}: ${err instanceof Error ? err.message : err}`);
  }
  const { parse } = await import("dotenv");
  return { ...parse(text), ...env };
}
