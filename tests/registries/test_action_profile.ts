/**
 * A test-only registry profile for the action machinery: `testreg`, serving search only, with one registry-specific
 * endpoint `POST /sync/ping` (a `ping_request` list answered one `ping_response` item each) whose handler records
 * what it was given.
 */
import { z } from "@hono/zod-openapi";
import type { ActionInput, RegistryProfile } from "../../src/registries/profile.ts";

/** The ping request message: tolerant, as request messages are. */
export const PingRequest = z.looseObject({
  transaction_id: z.string().min(1).max(99),
  ping_request: z.array(z.looseObject({ reference_id: z.string().max(99) })).min(1).max(10),
});

/** The ping answer: strict. */
export const PingResponse = z.object({
  transaction_id: z.string(),
  correlation_id: z.string(),
  ping_response: z.array(z.object({
    reference_id: z.string(),
    timestamp: z.string(),
    status: z.enum(["succ", "rjct"]),
    status_reason_message: z.string().optional(),
    registry: z.string().optional(),
  })),
});

/** The test profile and the inputs its handler saw. */
export function testActionProfile(name = "testreg"): { profile: RegistryProfile; seen: ActionInput[] } {
  const seen: ActionInput[] = [];
  const profile: RegistryProfile = {
    name,
    title: "Test registry",
    regType: `ns:org:RegistryType:${name}`,
    regTypeAliases: [name],
    recordTypes: [{ storage: `${name}_person`, kind: "person", names: ["TestPerson"] }],
    idTypes: ["TEST_ID"],
    attributes: [],
    eventTypes: [],
    standardActions: ["search"],
    actions: [{
      path: "/sync/ping",
      summary: "Answers each ping item",
      requestAction: "search",
      responseAction: "on-search",
      request: PingRequest,
      response: PingResponse,
      scope: "registry.search",
      handle(_deps, input) {
        seen.push(input);
        const items = (input.message.ping_request as Array<{ reference_id: string }>).map((it) => ({
          reference_id: it.reference_id,
          timestamp: new Date(input.now).toISOString(),
          status: "succ" as const,
          registry: input.registry,
        }));
        return Promise.resolve({
          status: "succ",
          totalCount: items.length,
          completedCount: items.length,
          message: {
            transaction_id: input.message.transaction_id,
            correlation_id: input.correlationId,
            ping_response: items,
          },
        });
      },
    }],
    readDetails: () => undefined,
    toRecord: () => ({}),
    importColumns: [],
    demo: () => [],
  };
  return { profile, seen };
}
