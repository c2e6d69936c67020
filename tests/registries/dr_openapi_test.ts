/** The DR endpoints' zod schemas render as OpenAPI 3.1 operations with named components. */
import assert from "node:assert/strict";
import { createRoute, OpenAPIHono } from "@hono/zod-openapi";
import { drActions } from "../../src/registries/dr/actions/endpoints.ts";

Deno.test("the DR action schemas render as OpenAPI components: requests, answers and the DR record classes", () => {
  const app = new OpenAPIHono();
  for (const a of drActions()) {
    app.openapi(
      createRoute({
        method: "post",
        path: `/dci_api/v1/dr/registry${a.path}`,
        summary: a.summary,
        request: { body: { content: { "application/json": { schema: a.request } }, required: true } },
        responses: {
          200: { description: "answer", content: { "application/json": { schema: a.response } } },
        },
      }),
      (c) => c.json({}, 200),
    );
  }
  const doc = app.getOpenAPI31Document({ openapi: "3.1.0", info: { title: "t", version: "1" } });
  const names = Object.keys(doc.components?.schemas ?? {});
  for (
    const name of [
      "DisabledRequest",
      "DisabledResponse",
      "GetDisabilitySupportRequest",
      "GetDisabilityInfoResponse",
      "GetDisabilitySupportResponse",
      "DRDisabilityInfoRecord",
      "DRDisabilitySupport",
      "DRHumanAssistance",
      "DRPerson",
    ]
  ) assert.ok(names.includes(name), `${name} in ${names.join(", ")}`);
  // deno-lint-ignore no-explicit-any
  const status = (doc.components!.schemas!.DRDisabilityInfoRecord as any).properties.disability_status;
  assert.deepEqual(status.enum, ["Approved", "Pending", "Expired"]);
  assert.equal(Object.keys(doc.paths ?? {}).length, 3);
});
