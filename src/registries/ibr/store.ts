/**
 * What the IBR endpoints need of the registry store, as an interface: the handlers are pure over it (tests give
 * them an in-memory one), and `ibrStore(deps)` binds it to the generic registry store.
 */
import type { Registrant } from "../../registry/model.ts";
import type { ActionResult } from "../profile.ts";

/** The result of writing one input record. */
export type WriteResult = { ok: true; created: boolean } | { ok: false; reason: string };

/** The IBR registry's records, as the endpoints read and write them. */
export interface IbrStore {
  /**
   * Live records of the given storage types holding an identifier with `value` (and `type`, when given),
   * at most `limit`.
   */
  findByIdentifier(
    id: { type?: string; value: string },
    storage: readonly string[],
    limit: number,
  ): Promise<Registrant[]>;
  /** The live record with this external id, when it is of one of the given storage types. */
  getByExternalId(externalId: string, storage: readonly string[]): Promise<Registrant | undefined>;
  /**
   * Creates or replaces a record from an input record (as `registry import` reads them: the registry's
   * change events and subscriptions follow). A refused record writes nothing and says why.
   */
  put(raw: Record<string, unknown>): Promise<WriteResult>;
  /**
   * Reads the live record with this external id, writes `merge(current)` (an input record) over it and raises
   * its event, with no other write of it in between (the registry store's `patch`: one transaction, under the
   * registry event lock on PostgreSQL), so two updates of one record both count. Undefined when no live record
   * has this id; a refused merge writes nothing and says why.
   */
  update(
    externalId: string,
    merge: (current: Registrant) => Record<string, unknown>,
  ): Promise<WriteResult | undefined>;
}

/** The handler result of both IBR endpoints: every item answered (each with its own status). */
export function answered(transactionId: string, correlationId: string, items: unknown[]): ActionResult {
  return {
    status: "succ",
    totalCount: items.length,
    completedCount: items.length,
    message: { transaction_id: transactionId, correlation_id: correlationId, enrolled_response: items },
  };
}
