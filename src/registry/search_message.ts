/**
 * A whole search message: envelope checks (header-level problems throw DciRejection), then every item
 * answered independently. Shared by the sync route and the async transaction worker.
 */
import type { Deps } from "../deps.ts";
import type { Db } from "../db/sqlite.ts";
import type { Registry } from "../dci/registry_router.ts";
import { DciRejection } from "../dci/errors.ts";
import { type StatementBudget, statementBudget } from "../db/budget.ts";
import { referenceIdOf, rejectItem, searchItem, type SearchResponseItem } from "./search.ts";
import { duplicateReference } from "./search_item.ts";
import { checkVersion } from "../dci/header_rules.ts";
import { profileOf } from "../registries/index.ts";
import { type IdLookup, lookupIdentifiers, plainLookups } from "./id_lookup.ts";
import type { RegistryProfile } from "../registries/profile.ts";

/** The parts of a request header the search reads. */
export interface SearchHeader {
  version?: string;
  action?: string;
  total_count?: number;
}

/** The outcome: header status fields and the `on-search` message. */
export interface SearchOutcome {
  status: "succ" | "rjct";
  statusReasonCode?: "rjct.action.not_supported";
  statusReasonMessage?: string;
  totalCount: number;
  completedCount: number;
  message: {
    transaction_id: string;
    correlation_id: string;
    search_response: SearchResponseItem[];
  };
}

/** A search message as received: the registry it was sent to, its header and its message. */
export interface SearchInput {
  registry: Registry;
  header: SearchHeader;
  message: unknown;
  correlationId?: string;
  /** The sender may send a header.total_count that differs from the item count (its `total_count` leniency). */
  lenientTotalCount?: boolean;
}

/** Whether `registry` has a profile whose spec defines search. */
export function isSearchable(registry: string): boolean {
  return profileOf(registry)?.standardActions.includes("search") ?? false;
}

/**
 * The header-level checks of a search message, run before any item (by the sync route, and at accept for an async
 * search, so that it is refused with the ERR ACK instead of an on-search callback). Returns the items; throws
 * DciRejection for `rjct.version.invalid`, `rjct.action.invalid`, `rjct.total_count.invalid` and
 * `rjct.total_count.limit_exceeded`.
 */
export function checkSearchHeader(
  config: Pick<Deps["config"], "maxSearchItems">,
  header: SearchHeader,
  rawMessage: unknown,
  options: { lenientTotalCount?: boolean } = {},
): unknown[] {
  checkVersion(header.version);
  // Case-insensitive, as the route's check (checkHeaderAction) that let it through.
  if (header.action !== undefined && String(header.action).toLowerCase() !== "search") {
    throw new DciRejection("rjct.action.invalid", `action ${JSON.stringify(header.action)} is not "search"`);
  }
  const message = (typeof rawMessage === "object" && rawMessage !== null ? rawMessage : {}) as Record<
    string,
    unknown
  >;
  const items = Array.isArray(message.search_request) ? message.search_request : undefined;
  if (!items || items.length === 0) {
    throw new DciRejection("rjct.total_count.invalid", "message.search_request must be a non-empty array");
  }
  if (
    header.total_count !== undefined && Number(header.total_count) !== items.length &&
    !options.lenientTotalCount
  ) {
    throw new DciRejection(
      "rjct.total_count.invalid",
      `header.total_count ${header.total_count} is not the number of search items (${items.length})`,
    );
  }
  if (items.length > config.maxSearchItems) {
    throw new DciRejection(
      "rjct.total_count.limit_exceeded",
      `${items.length} search items; at most ${config.maxSearchItems} per request`,
    );
  }
  return items;
}

/** What answering a search message's items needs beside the database. */
export type SearchSettings = Pick<Deps, "config" | "clock">;

/** The context of a message's items: the settings, now, the registry and the request's one time budget. */
export interface MessageContext {
  maxPageSize: number;
  maxResults: number;
  now: number;
  budget: StatementBudget;
  profile?: RegistryProfile;
}

/**
 * The items of a search message after the checks made before any is answered (checkSearchHeader, then per
 * item: the registry's support for search and repeated reference_ids), and how to make its outcome: `answers[i]`
 * is the answer of `items[i]` when it is not already in `ready[i]`.
 */
function planMessage(deps: SearchSettings, input: SearchInput) {
  const items = checkSearchHeader(deps.config, input.header, input.message, input);
  const now = deps.clock.now();
  const supported = isSearchable(input.registry);
  const seen = new Set<string>();
  // One SQL time budget for the whole request: its items share it, so no request holds the isolate longer.
  const ctx: MessageContext = {
    maxPageSize: deps.config.maxPageSize,
    maxResults: deps.config.searchMaxResults,
    now,
    budget: statementBudget(deps.config.searchBudgetMs, () => deps.clock.now()),
    profile: profileOf(input.registry),
  };
  const ready = items.map((item): SearchResponseItem | undefined => {
    // rjct.action.not_supported is a header-level code: the header carries it, the items only the reason.
    if (!supported) {
      return rejectItem(item, undefined, `search is not available on the ${input.registry} registry`, now);
    }
    const ref = referenceIdOf(item);
    if (ref !== undefined && seen.has(ref)) {
      return duplicateReference(item, ref, now);
    }
    if (ref !== undefined) seen.add(ref);
    return undefined;
  });
  return {
    items,
    ready,
    ctx,
    outcome: (answers: SearchResponseItem[]) => outcomeOf(input, supported, answers),
  };
}

function outcomeOf(input: SearchInput, supported: boolean, answers: SearchResponseItem[]): SearchOutcome {
  const message = input.message as Record<string, unknown>;
  const succeeded = answers.filter((a) => a.status === "succ").length;
  const transactionId = typeof message.transaction_id === "string" ? message.transaction_id.slice(0, 99) : "";
  return {
    status: succeeded > 0 ? "succ" : "rjct",
    ...(!supported
      ? {
        statusReasonCode: "rjct.action.not_supported" as const,
        statusReasonMessage: `search is not available on the ${input.registry} registry`,
      }
      : succeeded === 0
      ? { statusReasonMessage: `all ${answers.length} search item(s) were rejected` }
      : {}),
    totalCount: answers.length,
    completedCount: answers.length,
    message: {
      transaction_id: transactionId,
      correlation_id: input.correlationId ?? crypto.randomUUID(),
      search_response: answers,
    },
  };
}

/** Checks the envelope (checkSearchHeader) and answers each search item on the SQLite database `deps.db`. */
export function searchMessage(
  deps: Pick<Deps, "config" | "clock"> & { db: Db },
  input: SearchInput,
): SearchOutcome {
  const plan = planMessage(deps, input);
  const ctx = { ...plan.ctx, db: deps.db };
  const answers = plan.ready.slice();
  const plain = plainLookups(ctx, plan.items, answers);
  if (plain) place(answers, plain.at, lookupIdentifiers(ctx, input.registry, plain.lookups));
  return plan.outcome(plan.items.map((item, i) => answers[i] ?? searchItem(ctx, item)));
}

/**
 * `searchMessage` with the items answered by `answer` (a backend whose statements are asynchronous), one after
 * the other: they share one time budget; plain identifier lookups (two or more) by `lookup` in one go.
 */
export async function searchMessageWith(
  deps: SearchSettings,
  input: SearchInput,
  answer: (ctx: MessageContext, item: unknown) => Promise<SearchResponseItem>,
  lookup: (ctx: MessageContext, registry: string, lookups: IdLookup[]) => Promise<SearchResponseItem[]>,
): Promise<SearchOutcome> {
  const plan = planMessage(deps, input);
  const answers = plan.ready.slice();
  const plain = plainLookups(plan.ctx, plan.items, answers);
  if (plain) place(answers, plain.at, await lookup(plan.ctx, input.registry, plain.lookups));
  for (const [i, item] of plan.items.entries()) answers[i] ??= await answer(plan.ctx, item);
  return plan.outcome(answers as SearchResponseItem[]);
}

/** Puts the answers of a message's plain lookups (`found[k]` of item `at[k]`) in their places. */
function place(
  answers: Array<SearchResponseItem | undefined>,
  at: number[],
  found: SearchResponseItem[],
): void {
  at.forEach((i, k) => answers[i] = found[k]);
}
