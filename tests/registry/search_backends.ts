/** Searching a test's Storage (either backend) as a client would: one item, its answer. */
import { FIXTURE_NOW, item } from "./fixture.ts";
import { testConfig } from "../../src/config.ts";
import { fakeClock } from "../../src/clock.ts";
import type { Storage } from "../../src/db/storage.ts";
import type { SearchResponseItem } from "../../src/registry/search_item.ts";
import type { Registry } from "../../src/dci/registry_router.ts";

/** Answers one search item with `criteria` on `storage`. */
export async function searchOn(
  storage: Storage,
  criteria: Record<string, unknown>,
  options: { registry?: Registry; config?: Record<string, string> } = {},
): Promise<SearchResponseItem> {
  const out = await storage.search.message(
    { config: testConfig(options.config ?? {}), clock: fakeClock(FIXTURE_NOW) },
    {
      registry: options.registry ?? "social",
      header: { version: "1.0.0", action: "search", total_count: 1 },
      message: { transaction_id: "t", search_request: [item(criteria)] },
    },
  );
  return out.message.search_response[0];
}

/** The @id values of an answer's records. */
export function idsOf(a: SearchResponseItem): string[] {
  return (a.data?.reg_records ?? []).map((r) => String(r["@id"]));
}
