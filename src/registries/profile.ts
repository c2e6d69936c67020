/**
 * A registry profile: everything that differs between the DCI registries (social, crvs, fr, dr, ibr), declared
 * once in `src/registries/{name}/`. The generic machinery (storage, search, import, events, subscriptions,
 * routes, OpenAPI) reads only this; adding a registry is one folder and one entry in `src/registries/index.ts`.
 *
 * Storage model (see migrations/0016_registries.sql):
 * - Every record of every registry is a row of `registrants` with the core person/group columns (names, sex,
 *   birth and death dates, first address, registration and update times). `record_type` is the record type's
 *   *storage* name: `person` and `group` for social (unchanged, so social's partial indexes and queries stay as
 *   they are), `{registry}_{kind}` for the others (`crvs_person`, `fr_person`, `fr_group`, ...). Each registry's
 *   search indexes are partial on its own storage record types, so registries never scan each other's rows.
 * - Identifiers are unique per registry (the same UIN may be in social and crvs).
 * - The registry-specific part of a record is `Registrant.details` (JSON, stored with the record). Every
 *   searchable registry-specific attribute is extracted by `ProfileAttribute.values` into the indexed
 *   `registrant_values (attr, value, registrant_id)` table when the record is written.
 */
import type { z } from "@hono/zod-openapi";
import type { Registrant } from "../registry/model.ts";
import type { ValueKind } from "../registry/attributes.ts";
import type { Deps } from "../deps.ts";
import type { TxnType } from "../dci/rejection.ts";

/** A JSON object. */
export type Json = Record<string, unknown>;

/** One record type of a registry. */
export interface RecordTypeDef {
  /** `registrants.record_type`: `person` / `group` for social, `{registry}_person` / `{registry}_group` else. */
  storage: string;
  /** Whether the storage row is a person or a group (core columns, households, members). */
  kind: "person" | "group";
  /**
   * The `reg_record_type` names a client may send for it, compared case-insensitively and after the last `:`
   * (`ns:org:RecordType:Farmer` → `farmer`). The first is the one this server sends (answers, notifications).
   */
  names: readonly string[];
}

/** One registry-specific searchable attribute (the core ones, names, dates, address, are shared). */
export interface ProfileAttribute {
  /** Canonical attribute name as clients send it (lower-case), e.g. `vital_event_type`, `crop_type`. */
  name: string;
  aliases?: readonly string[];
  kind: ValueKind;
  /** Storage record types that have it. */
  on: readonly string[];
  /**
   * The values of a stored record for this attribute (several for a list: every crop of a farmer). Written to
   * `registrant_values` with the record; a search compares them as `kind` says. Must be cheap and pure.
   */
  values(reg: Registrant): Array<string | number>;
  /**
   * Optional: the attribute is the union of these others (crvs `parent_identifier` = `parent1_identifier` or
   * `parent2_identifier`) and has no rows of its own: a search reads theirs (`attr IN (...)`), so a record's
   * values are not written twice. `values()` must then return exactly the union of theirs.
   */
  storedAs?: readonly string[];
  /**
   * Optional: converts a query value to the stored form before it is compared (a code-list label or prefixed
   * code to its code: `crop_type eq "Cereals"` → `"1"`), or undefined when it cannot be one (the query is
   * refused, rjct.filter.invalid). Absent: `kind` alone normalises the value.
   */
  normalise?(raw: unknown): string | number | undefined;
  /** One line for the docs and error messages. */
  description: string;
}

/** A registry-specific event a subscriber may ask for (crvs: the vital events), derived from a change. */
export interface ProfileEventType {
  /** As clients send it in `reg_event_type` (compared case-insensitively after the last `:`), first = sent. */
  names: readonly string[];
  /**
   * The record types (storage names) the event happens to, when not every one of the registry's: a subscription
   * to it for another record type is refused (it would never be notified).
   */
  recordTypes?: readonly string[];
  /**
   * Whether a registry change is this event: `change` is registration / update / delete, `before` the record
   * as it was (undefined for a registration), `after` as it is now.
   */
  matches(change: "registration" | "update" | "delete", after: Registrant, before?: Registrant): boolean;
}

/** A column of the registry's import file (CSV header → where the value goes in the input record). */
export interface ImportColumn {
  /** CSV header (case-insensitive). */
  column: string;
  /**
   * Dotted path in the JSON input record the reader takes (`details.farm.land_size`), or a core field. A path
   * ending in `[]` takes a list: the cell's values separated by `|` (`details.crops[]`).
   */
  path: string;
  description: string;
}

/** What a registry's mapping may need besides the record. */
export interface MappingContext {
  /** Members of a group (kind `group`), head first, when the caller loaded them. */
  members?: Registrant[];
  /** Whether to include `@context` (top-level records). */
  withContext: boolean;
}

/** A registry-specific endpoint (DR `sync/disabled`, IBR `sync/enrolled`, ...), registered by the action table. */
export interface ProfileAction {
  /** Path under `/registry`, e.g. `/sync/disabled`. */
  path: string;
  /** Spec operation summary for the OpenAPI document. */
  summary: string;
  /** `header.action` the spec's request carries (e.g. `search`); the answer's is `responseAction`. */
  requestAction: string;
  responseAction: string;
  /** zod schema of the request `message` (validation and OpenAPI) and of the answer's `message`. */
  request: z.ZodType;
  response: z.ZodType;
  /** Auth scope (e.g. `registry.search`). */
  scope: string;
  /**
   * Optional: the number of items the request message (as `request` parsed it) carries, which header.total_count
   * must equal (else rjct.total_count.invalid, as sync/search refuses it). Absent: total_count is not checked.
   */
  itemCount?(message: Json): number;
  /** Answers one authenticated, signature-checked, header-checked request (the route signs the answer). */
  handle(deps: Deps, input: ActionInput): Promise<ActionResult>;
  /**
   * The handler writes records, and repeating a request's writes changes nothing (records matched by identifier,
   * new ones given ids derived from the request and the item's place in it): a copy of a request is admitted again until
   * the request has been answered, so one answered 503 part-way, or cut short by a crash, is applied in full by
   * the sender's retry (ReplayKind "write", src/auth/replay.ts). Absent: a copy is always a duplicate.
   */
  writes?: boolean;
  /**
   * The complete answer refusing `request` (the request message as received, possibly malformed) whole, for a
   * header-level rejection (rjct.version.invalid, rjct.message_id.duplicate, ...), and the number of items it
   * answers. Optional: by default the answer is `{transaction_id, correlation_id}` plus, for each `*_request` list
   * of the request, the `*_response` list with every item rejected (reference_id, timestamp, status, reason).
   */
  rejected?(request: unknown, ids: RejectedIds): { message: Json; items: number };
}

/** What varies in a refusal: our correlation id, now (ISO 8601) and the reason given. */
export interface RejectedIds {
  correlationId: string;
  now: string;
  reason: string;
}

/** What a registry-specific endpoint's handler is given. */
export interface ActionInput {
  registry: string;
  /** The authenticated sender. */
  senderId: string;
  header: Json;
  /** The request message, as the action's `request` schema parsed it. */
  message: Json;
  /** Our id for this answer. */
  correlationId: string;
  /** Epoch ms now. */
  now: number;
}

/** A handler's answer: the response message and the answer header's status and counts. */
export interface ActionResult {
  status: "succ" | "rjct";
  /** Header-level reason code when status is rjct (MsgHeaderStatusReasonCode). */
  reasonCode?: string;
  reasonMessage?: string;
  totalCount: number;
  completedCount: number;
  message: Json;
}

/** Everything that differs between registries. */
export interface RegistryProfile {
  /** Path segment and config name: `social`, `crvs`, `fr`, `dr`, `ibr`. */
  name: string;
  /** Human title for docs and the console, e.g. "Civil registration and vital statistics". */
  title: string;
  /** The `reg_type` this server sends, e.g. `ns:org:RegistryType:Civil`. */
  regType: string;
  /** Other `reg_type` values accepted (compared case-insensitively after the last `:`), e.g. `crvs`, `civil`. */
  regTypeAliases: readonly string[];
  /** Record types; the first is the default when a request names none. */
  recordTypes: readonly RecordTypeDef[];
  /** Identifier types this registry issues or holds (docs, demo, `UIN eq …` attribute names). */
  idTypes: readonly string[];
  /** Registry-specific searchable attributes (beside the shared core ones). */
  attributes: readonly ProfileAttribute[];
  /** Registry-specific subscription event types (beside registration / update / delete). */
  eventTypes: readonly ProfileEventType[];
  /**
   * Other names of the registration event, as the registry's spec samples subscribe with them (fr `NewFarmer`;
   * compared case-insensitively after the last `:`): read as `registration`. Not dr's `NewDisabledNewborn`, which
   * names only newborns' registrations (the dr yaml's enum has REGISTER alone): refused, not widened to every one.
   */
  registrationNames?: readonly string[];
  /**
   * False when the registry's spec has no `reg_event_type` for registrations, updates and deletes (ibr: only
   * `enrollement` and `enrollement_status_change`): its subscriptions take only its own event types.
   */
  changeEvents?: boolean;
  /** Which of the standard actions this registry's spec defines (DR has no txn status). */
  standardActions: readonly ("search" | "subscribe" | "unsubscribe" | "txn-status" | "receipt")[];
  /**
   * The spec's `txn_type` values of TxnStatusRequest and TxnStatusResponse, when not `search`, `subscribe`,
   * `receipt` (crvs and fr: `search`, `subscribe`, `unsubscribe`).
   */
  txnTypes?: readonly TxnType[];
  /** Registry-specific endpoints. */
  actions: readonly ProfileAction[];
  /**
   * Ignore, instead of refuse, top-level fields of an input record that neither the core reader nor `details`
   * knows (social only: its partners send whole DCI records, `@context` and extras included, as they always
   * could). Every other registry refuses such a field naming it.
   */
  lenientFields?: boolean;
  /**
   * Reads the registry-specific part of an input record (`raw` is the whole record; the part is `raw.details`, an
   * object; the core reader reads every other field) into `details` (validated, bounded, normalised); each
   * problem pushed to `errors` names its field (`details.farm.land_size: expected a number`). An unknown field
   * is an error naming it. Returns undefined when the record has none.
   */
  readDetails(raw: Json, recordType: RecordTypeDef, errors: string[]): Json | undefined;
  /** The DCI JSON-LD record of a stored registrant of this registry (validates against the spdci classes). */
  toRecord(reg: Registrant, recordType: RecordTypeDef, ctx: MappingContext): Json;
  /** Import column table (CSV); JSON and NDJSON take the input record shape directly. */
  importColumns: readonly ImportColumn[];
  /**
   * Demo records (input shape, as `registry import` reads them): the partners' fixed test records first (social
   * `TEST-001`, crvs `BIRTH-TEST-001` ...), then `count` deterministic synthetic ones from `seed`.
   */
  demo(count: number, seed: number): Iterable<Json>;
}
