/**
 * Issue 13 §6, the civil-registry flow end to end: a social programme's sender subscribes to deaths in `crvs`; a
 * death registered there (admin API, then `registry import --registry crvs` from another process) is notified,
 * signed, with the deceased's identifiers. Every callback and notification is checked against the crvs yaml by
 * the receiver; the subscribe answer too. A birth subscription with a filter on the place of birth gets the
 * birth and nothing else.
 */
import assert from "node:assert/strict";
import { createServerSender } from "../helpers/auth.ts";
import { runCliProcess } from "../helpers/server.ts";
import { assertSpecAnswer } from "../helpers/spec_check.ts";
import { verifyWithJwks } from "../transactions/support.ts";
import { startReceiver } from "../subscriptions/helpers.ts";
import { admin, notifiesOf, send, startServer, subscribeMessage } from "../subscriptions/e2e_support.ts";
import { crvsValidator } from "./crvs_fixture.ts";

type Json = Record<string, unknown>;

const CRVS = "/dci_api/v1/crvs";
const DEATH = "spdci-common:RegistryEventType:Death";

function death(id: string, uin: string, drn: string, date: string): Json {
  return {
    id,
    identifier: [{ identifier_type: "UIN", identifier_value: uin }, {
      identifier_type: "DRN",
      identifier_value: drn,
    }],
    name: { given_name: "Grace", surname: "Mensah" },
    sex: "female",
    birth_date: "1950-05-05",
    death_date: date,
    details: { death_place: { locality: "Riverside", region_code: "central_region" }, marital_status: "W" },
  };
}

function birth(id: string, brn: string): Json {
  return {
    id,
    identifier: [{ identifier_type: "BRN", identifier_value: brn }],
    name: { given_name: "Nia", surname: "Mensah" },
    sex: "female",
    birth_date: "2025-12-01",
    details: { birth_place: "Riverside", parent1_identifier: "UIN:PARENT-TEST-001" },
  };
}

function eventOf(n: { body: Json }): { data: Json } & Json {
  return (n.body.message as { notify_event: Array<{ data: Json } & Json> }).notify_event[0];
}

Deno.test("crvs death flow: a social programme's subscription to crvs deaths is notified of each death, signed, with the deceased's identifiers", async () => {
  const rx = startReceiver({ registry: "crvs" });
  const server = await startServer();
  try {
    const programme = await createServerSender(server, { auto_approve_subscriptions: true });
    const msg = subscribeMessage("crvs-deaths", [{
      reg_type: "ns:org:RegistryType:Civil",
      reg_event_type: DEATH,
      notify_record_type: "CRVS_Person",
      filter_type: "predicate",
      filter: [],
    }, {
      // The yaml's example: any new birth in a place (after a date).
      reg_type: "ns:org:RegistryType:Civil",
      reg_event_type: "LiveBirth",
      notify_record_type: "Person",
      filter_type: "predicate",
      filter: [{
        seq_num: 1,
        expression1: { attribute_name: "birth_place", operator: "eq", attribute_value: "Riverside" },
        condition: "and",
        expression2: { attribute_name: "birth_date", operator: "ge", attribute_value: "2025-01-01" },
      }],
    }]);
    const ack = await send(server, programme, `${CRVS}/registry/subscribe`, msg, rx.url);
    assert.equal(ack.status, 202, JSON.stringify(ack.body));
    assertSpecAnswer(`${CRVS}/registry/subscribe`, ack.status, ack.body);
    await rx.until((all) => all.some((r) => r.path.endsWith("/on-subscribe")));
    const onSub = rx.received.find((r) => r.path.endsWith("/on-subscribe"))!;
    const [item, births] =
      (onSub.body.message as { subscribe_response: Array<Json & { subscriptions: Json[] }> })
        .subscribe_response;
    assert.deepEqual([item.status, births.status], ["succ", "succ"], JSON.stringify([item, births]));
    const code = String(item.subscriptions[0].code);
    assert.equal(item.subscriptions[0].reg_event_type, DEATH);
    const birthCode = String(births.subscriptions[0].code);
    assert.equal(births.subscriptions[0].reg_event_type, "spdci-common:RegistryEventType:LiveBirth");

    // A birth is no death; a death through the admin API is.
    for (const rec of [birth("B-1", "BRN-FLOW-1"), death("D-1", "UIN-FLOW-1", "DRN-FLOW-1", "2025-12-20")]) {
      const put = await admin(server, "PUT", `/registries/crvs/registrants/${rec.id}`, rec);
      assert.equal(put.status, 200, JSON.stringify(put.body));
    }
    await rx.until(() => notifiesOf(rx, code).length === 1 && notifiesOf(rx, birthCode).length === 1);

    // A death imported by the CLI into the running server's data dir.
    const file = await Deno.makeTempFile({ suffix: ".ndjson" });
    try {
      await Deno.writeTextFile(
        file,
        JSON.stringify(death("D-2", "UIN-FLOW-2", "DRN-FLOW-2", "2025-12-24")) + "\n",
      );
      const r = await runCliProcess(["registry", "import", "--registry", "crvs", file], {
        DCI_DATA_DIR: server.dataDir,
      });
      assert.equal(r.code, 0, r.stderr);
    } finally {
      await Deno.remove(file);
    }
    await rx.until(() => notifiesOf(rx, code).length === 2);

    const jwks = await (await fetch(`${server.url}/.well-known/jwks.json`)).json();
    const notes = notifiesOf(rx, code);
    assert.deepEqual(notes.map((n) => (eventOf(n).data.reg_records as Json)["@id"]), ["D-1", "D-2"]);
    for (const [i, n] of notes.entries()) {
      assert.equal((n.body.header as Json).action, "notify");
      assert.ok(verifyWithJwks(n.body, jwks, Date.now()), "the notification is signed by the registry");
      const data = eventOf(n).data;
      assert.equal(data.reg_type, "ns:org:RegistryType:Civil");
      assert.equal(data.reg_event_type, DEATH);
      assert.equal(data.reg_record_type, "CRVS_Person");
      const rec = data.reg_records as Json;
      assert.deepEqual(crvsValidator.validate(rec, "CRVS_Person"), []);
      assert.deepEqual(
        (rec.identifier as Json[]).map((x) => `${x.identifier_type}:${x.identifier_value}`),
        [`UIN:UIN-FLOW-${i + 1}`, `DRN:DRN-FLOW-${i + 1}`],
      );
      assert.ok(String(rec.death_date).startsWith(i === 0 ? "2025-12-20" : "2025-12-24"));
    }
    const born = notifiesOf(rx, birthCode);
    assert.deepEqual(born.map((n) => (eventOf(n).data.reg_records as Json)["@id"]), ["B-1"], "births only");
    assert.equal(eventOf(born[0]).data.reg_event_type, "spdci-common:RegistryEventType:LiveBirth");
  } finally {
    await server.stop();
    await rx.close();
  }
});
