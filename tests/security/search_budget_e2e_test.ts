/**
 * Item 1 (issue 11), end to end: the real server with a 50,000-person registry and a budget of 25 ms. A query
 * that must examine every person with 252 range tests each is refused with its code, sync and async (the
 * worker ends the transaction with the item rejected and sends the callback); a normal search on the same
 * server still answers. Codes, not times. The budget is a quarter of the default (100 ms): on PostgreSQL, where
 * statement_timeout bounds each statement of the search's transaction (the count, then the page), that query
 * passed the default on a fast day (`succ`, ~135 ms for the whole request), and the point here is the path a
 * refusal takes, not the default's size (bench/_abuse_search.ts sends these queries at the default).
 */
import assert from "node:assert/strict";
import { runCliProcess } from "../helpers/server.ts";
import { createServerSender, send, startWorkerServer, waitForState } from "../transactions/e2e_support.ts";
import { startReceiver } from "../transactions/receiver.ts";
import { expression, PERSON_QUERY } from "./pathological_queries.ts";

type Json = Record<string, unknown>;

function firstItem(message: unknown): Json {
  return ((message as Json).search_response as Json[])[0];
}

Deno.test("search budget end to end: a pathological query is refused sync and async; a normal one answers", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "dci-search-budget-" });
  const seeded = await runCliProcess(["registry", "seed", "--demo", "50000"], { DCI_DATA_DIR: dataDir });
  assert.equal(seeded.code, 0, seeded.stderr);
  const receiver = startReceiver();
  const server = await startWorkerServer({ DCI_SEARCH_BUDGET_MS: "25" }, dataDir);
  try {
    const sender = await createServerSender(server);
    const request = (id: string, criteria: Json) => ({
      transaction_id: id,
      search_request: [{
        reference_id: `${id}-r`,
        timestamp: new Date().toISOString(),
        search_criteria: criteria,
      }],
    });
    const path = "/registry/sync/search";
    const bad = await send(server, sender, path, request("s-1", expression(PERSON_QUERY)), receiver.url);
    assert.equal(bad.status, 200, JSON.stringify(bad.body));
    const item = firstItem(bad.body.message);
    assert.equal(item.status, "rjct");
    assert.equal(item.status_reason_code, "rjct.search.too_many_records_found");
    assert.match(String(item.status_reason_message), /25 ms time budget/);

    const normal = { query_type: "idtype-value", query: { type: "UIN", value: "TEST-001" } };
    const good = await send(server, sender, path, request("s-2", normal), receiver.url);
    assert.equal(firstItem(good.body.message).status, "succ", JSON.stringify(good.body));

    const ack = await send(
      server,
      sender,
      "/registry/search",
      request("a-1", expression(PERSON_QUERY)),
      receiver.url,
    );
    assert.equal(ack.status, 202, JSON.stringify(ack.body));
    const correlationId = String((ack.body.message as Json).correlation_id);
    const txn = await waitForState(server, correlationId, "callback_sent", 60_000);
    assert.equal(txn.status_reason_code ?? null, null);
    const answered = firstItem(txn.result);
    assert.equal(answered.status_reason_code, "rjct.search.too_many_records_found", JSON.stringify(answered));
    await receiver.waitFor((got) => got.some((r) => firstItem(r.body.message).reference_id === "a-1-r"));
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  } finally {
    await server.stop();
    await receiver.close();
    await Deno.remove(dataDir, { recursive: true });
  }
});
