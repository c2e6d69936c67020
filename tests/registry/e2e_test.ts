import assert from "node:assert/strict";
import { postJson, startServerProcess } from "../helpers/server.ts";
import { createServerSender } from "../helpers/auth.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import { verifyWithJwks } from "../transactions/support.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

Deno.test("e2e: a server on an empty data dir seeds a demo registry and answers signed searches", async () => {
  const server = await startServerProcess({
    env: {
      DCI_SEED_DEMO: "true",
      DCI_DEMO_SIZE: "120",
      DCI_MAX_PAGE_SIZE: "10",
    },
  });
  try {
    await server.waitForLog((l) => l.msg === "demo registry seeded");
    const alice = await createServerSender(server);
    const jwks = await (await fetch(`${server.url}/.well-known/jwks.json`)).json();
    const search = async (criteria: Record<string, unknown>[], path = "/registry/sync/search") => {
      const env = alice.sign(requestEnvelope(alice.senderId, {
        transaction_id: "e2e",
        search_request: criteria.map((c, i) => ({
          reference_id: `r${i}`,
          timestamp: new Date().toISOString(),
          search_criteria: c,
        })),
      }, { totalCount: criteria.length }));
      const res = await postJson(`${server.url}${path}`, env, alice.headers());
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.ok(verifyWithJwks(res.body, jwks, Date.now()));
      return (res.body as Json).message.search_response as Json[];
    };
    const [byId, pred, expr, bad, paged] = await search([
      { query_type: "idtype-value", query: { type: "UIN", value: "TEST-001" } },
      {
        query_type: "predicate",
        query: [{
          expression1: { attribute_name: "birth_date", operator: "ge", attribute_value: "1990-01-01" },
          condition: "and",
          expression2: { attribute_name: "sex", operator: "eq", attribute_value: "female" },
        }],
        sort: [{ attribute_name: "birth_date", sort_order: "asc" }],
        pagination: { page_size: 5, page_number: 1 },
      },
      {
        query_type: "expression",
        query: {
          type: "ns:org:QueryType:NoSql",
          value: {
            expression: {
              collection: "Group",
              query: { $and: [{ poverty_score: { $lt: 5 } }, { location: { $eq: "central_region" } }] },
            },
          },
        },
      },
      {
        query_type: "predicate",
        query: [{ expression1: { attribute_name: "1=1; --", operator: "eq", attribute_value: "x" } }],
      },
      {
        query_type: "predicate",
        query: [{
          expression1: {
            attribute_name: "region",
            operator: "in",
            attribute_value: ["central_region", "northern_region"],
          },
        }],
        pagination: { page_size: 50, page_number: 2 },
      },
    ]);
    assert.equal(byId.status, "succ");
    assert.equal(byId.data.reg_records.length, 1);
    assert.equal(byId.data.reg_records[0].identifier[0].identifier_value, "TEST-001");
    assert.ok(pred.pagination.total_count > 0);
    const births = pred.data.reg_records.map((r: Json) => r.birth_date);
    assert.deepEqual(births, [...births].sort());
    assert.ok(pred.data.reg_records.every((r: Json) => r.sex === "female" && r.birth_date >= "1990-01-01"));
    assert.equal(expr.data.reg_record_type, "Group");
    assert.ok(
      expr.data.reg_records.every((g: Json) =>
        g.poverty_score < 5 && g.address[0].region_code === "central_region"
      ),
    );
    assert.equal(bad.status_reason_code, "rjct.filter.invalid");
    assert.ok(paged.pagination, JSON.stringify({ ...paged, data: undefined }));
    assert.equal(paged.pagination.page_size, 10, "page_size capped by DCI_MAX_PAGE_SIZE");
    assert.equal(paged.pagination.page_number, 2);
    const [dr] = await search(
      [{ query_type: "idtype-value", query: { type: "UIN", value: "DISABILITY-TEST-001" } }],
      "/dci_api/v1/dr/registry/sync/search",
    );
    // Each registry answers from its own records: the disability registry's demo test person.
    assert.deepEqual(
      [dr.status, dr.data.reg_record_type, dr.data.reg_records.map((r: Json) => r["@id"])],
      ["succ", "PWDPerson", ["DR-TEST-001"]],
    );
  } finally {
    await server.stop();
    await Deno.remove(server.dataDir, { recursive: true }).catch(() => {});
  }
});
