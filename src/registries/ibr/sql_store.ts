/**
 * The IbrStore of a running server: reads and writes through the registry store (`deps.storage.registry`, either
 * backend), each record written in its own transaction, then wakes the notifier so subscribers hear of the change.
 */
import type { Deps } from "../../deps.ts";
import { InputError, readRegistrant, type Registrant } from "../../registry/model.ts";
import { wakeNotifier } from "../../subscriptions/notifier.ts";
import { isoNow } from "../../clock.ts";
import { IBR_RECORD_TYPES } from "./record_types.ts";
import { ibrProfile } from "./index.ts";
import type { IbrStore, WriteResult } from "./store.ts";

const STORAGE = new Set(IBR_RECORD_TYPES.map((t) => t.storage));

/** The IBR store over `deps.storage.registry`. */
export function ibrStore(deps: Deps): IbrStore {
  const registry = deps.storage.registry;
  return {
    async findByIdentifier(id, storage, limit) {
      const out: Registrant[] = [];
      // The record types are this folder's constants, never taken from input.
      for (const s of storage) if (STORAGE.has(s)) out.push(...await registry.findByIdentifier(id, s, limit));
      return out.slice(0, limit);
    },
    async getByExternalId(externalId, storage) {
      const reg = await registry.get(externalId, "ibr");
      return reg && !reg.deletedAt && storage.includes(String(reg.recordType)) ? reg : undefined;
    },
    async put(raw): Promise<WriteResult> {
      const now = isoNow(deps.clock);
      try {
        const reg = readRegistrant(raw, now, undefined, ibrProfile);
        const { eventType } = await registry.save(reg, { mode: "upsert", now });
        wakeNotifier(deps);
        return { ok: true, created: eventType === "registration" };
      } catch (e) {
        if (e instanceof InputError) return { ok: false, reason: e.message };
        throw e;
      }
    },
    async update(externalId, merge): Promise<WriteResult | undefined> {
      const now = isoNow(deps.clock);
      try {
        // Read, merged and written in one transaction of the store (under its lock): no update is lost.
        const saved = await registry.patch(
          "ibr",
          externalId,
          (current) => readRegistrant(merge(current), now, undefined, ibrProfile),
          now,
        );
        if (!saved) return undefined;
        wakeNotifier(deps);
        return { ok: true, created: false };
      } catch (e) {
        if (e instanceof InputError) return { ok: false, reason: e.message };
        throw e;
      }
    },
  };
}
