/**
 * Shared by the query conformance tests: a signed sync search through the real app (auth chain, route, search
 * code, SQLite fixture data) and the check of its answer against the social registry spec.
 */
import { createApp } from "../helpers/app.ts";
import type { TestDeps } from "../helpers/deps.ts";
import { createTestSender, type TestSender } from "../helpers/auth.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import { fixtureDeps } from "../registry/fixture.ts";
import { specErrors } from "../helpers/spec_validator.ts";
import { readRegistrant } from "../../src/registry/model.ts";

/** Creates or replaces a registrant (admin-API input shape) in the fixture registry. */
export async function addRegistrant(
  deps: TestDeps,
  raw: Record<string, unknown>,
  now = "2026-01-01T00:00:00.000Z",
): Promise<void> {
  await deps.storage.registry.save(readRegistrant(raw, now), { mode: "upsert", now });
}

/** One search item as a client sends it. */
export function searchItemOf(criteria: Record<string, unknown>, ref = "ref-1"): Record<string, unknown> {
  return { reference_id: ref, timestamp: "2026-01-01T00:00:00Z", search_criteria: criteria };
}

/** The fixture registry, a registered sender and the app to call. */
export async function searchSetup(): Promise<
  { deps: TestDeps; sender: TestSender; app: ReturnType<typeof createApp> }
> {
  const deps = await fixtureDeps();
  const sender = await createTestSender(deps);
  return { deps, sender, app: createApp(deps) };
}

/** POSTs a signed sync search of `items` and returns the HTTP status and the answer. */
export async function syncSearch(
  s: { deps: TestDeps; sender: TestSender; app: ReturnType<typeof createApp> },
  items: Record<string, unknown>[],
  path = "/registry/sync/search",
) {
  const envelope = s.sender.sign(
    requestEnvelope(s.sender.senderId, { transaction_id: crypto.randomUUID(), search_request: items }, {
      totalCount: items.length,
      nowMs: s.deps.clock.now(),
    }),
  );
  const res = await s.app.request(path, {
    method: "POST",
    headers: { "content-type": "application/json", ...s.sender.headers() },
    body: JSON.stringify(envelope),
  });
  // deno-lint-ignore no-explicit-any
  const json = await res.json() as any;
  return { status: res.status, json, items: json?.message?.search_response ?? [] };
}

/** The @id of each record of an answered item. */
export function recordIds(answer: { data?: { reg_records?: Array<Record<string, unknown>> } }): string[] {
  return (answer.data?.reg_records ?? []).map((r) => String(r["@id"]));
}

/** Where the on-search message fails the spec's SearchResponse schema (empty when it validates). */
export function searchResponseErrors(message: unknown): string[] {
  return specErrors("social", "/components/schemas/SearchResponse", message, { at: "message" });
}
