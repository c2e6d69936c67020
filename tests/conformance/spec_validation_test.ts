/**
 * The suite-wide spec validator itself (tests/helpers/spec_validator.ts, spec_check.ts, spec_defects.ts): a
 * well-formed body passes, a broken one fails with a message naming the field, the rule and the value, each
 * relaxation of a spec defect is exercised, and every test reaches the server through the checked helpers.
 */
import assert from "node:assert/strict";
import { answerErrors, callbackErrors, specTarget } from "../helpers/spec_check.ts";
import { rawSpecDocument, specDocument, specErrors, specHas } from "../helpers/spec_validator.ts";
import { BORROWED_OPERATIONS, relaxDefects, SPEC_DEFECTS } from "../helpers/spec_defects.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const TS = "2026-01-01T00:00:00Z";
const header = (action: string, extra: Record<string, unknown> = {}) => ({
  version: "1.0.0",
  message_id: "m-1",
  message_ts: TS,
  action,
  status: "succ",
  total_count: 1,
  completed_count: 1,
  sender_id: "dci-server",
  receiver_id: "spmis.example.org",
  is_msg_encrypted: false,
  ...extra,
});
const onSearch = (): Json => ({
  signature: "sig",
  header: header("on-search"),
  message: {
    transaction_id: "t-1",
    correlation_id: "c-1",
    search_response: [{
      reference_id: "r-1",
      timestamp: TS,
      status: "succ",
      data: {
        reg_type: "ns:org:RegistryType:Social",
        reg_record_type: "SRPerson",
        reg_records: [{ sex: "female" }],
      },
      pagination: { page_size: 10, page_number: 1, total_count: 1 },
      locale: "eng",
    }],
  },
});
const ack = (status: "ACK" | "ERR", code?: string) => ({
  message: {
    ack_status: status,
    timestamp: TS,
    correlation_id: "c-1",
    ...(code ? { error: { code, message: "why" } } : {}),
  },
});

Deno.test("specErrors() passes well-formed answers of every registry and names field, rule and value of a broken one", () => {
  for (const registry of ["social", "crvs", "fr", "dr", "ibr"] as const) {
    const path = `/dci_api/v1/${registry}/registry/sync/search`;
    assert.deepEqual(answerErrors(path, 200, onSearch()), [], registry);
    assert.deepEqual(answerErrors(`/dci_api/v1/${registry}/registry/search`, 202, ack("ACK")), [], registry);
  }
  const bad = onSearch();
  bad.header.action = "on-subscribe";
  bad.message.search_response[0].status = "done";
  bad.message.search_response[0].timestamp = "yesterday";
  bad.message.search_response[0].locale = "en";
  delete bad.message.correlation_id;
  const errors = answerErrors("/registry/sync/search", 200, bad).join("\n");
  assert.match(
    errors,
    /\$\.header\.action: must be equal to one of the allowed values \["on-search"\] \(got "on-subscribe"\)/,
  );
  assert.match(errors, /\$\.message: must have required property 'correlation_id'/);
  assert.match(errors, /\$\.message\.search_response\[0\]\.status: .* \(got "done"\)/);
  assert.match(
    errors,
    /\$\.message\.search_response\[0\]\.timestamp: must match format "date-time" \(got "yesterday"\)/,
  );
  assert.match(
    errors,
    /\$\.message\.search_response\[0\]\.locale: must match pattern "\^\[a-z\]\{3,3\}\$" \(got "en"\)/,
  );
  // The EncryptedMessage branch of the message's oneOf is left out when the message's own errors explain it.
  assert.doesNotMatch(errors, /ciphertext/);
});

Deno.test("answerErrors() picks the schema by path and status: ACK on async, the operation's answer on sync", () => {
  const envelope = { signature: "s", header: header("on-search", { status: "rjct" }), message: {} };
  // Async endpoints answer the ACK Response at every status; an on-search envelope there is wrong.
  assert.deepEqual(answerErrors("/registry/search", 400, ack("ERR", "err.request.bad")), []);
  assert.match(answerErrors("/registry/search", 400, envelope).join(), /required property 'ack_status'/);
  assert.match(answerErrors("/registry/search", 400, ack("ACK")).join(), /must be ack_status "ERR"/);
  assert.match(
    answerErrors("/registry/search", 202, ack("ERR", "err.request.bad")).join(),
    /"ERR" answered with HTTP 202/,
  );
  // Sync endpoints answer a complete message (never `message: {}`), or the ERR ACK for a transport failure.
  assert.match(
    answerErrors("/registry/sync/search", 409, envelope).join(),
    /required property 'search_response'/,
  );
  assert.deepEqual(answerErrors("/registry/sync/search", 401, ack("ERR", "err.signature.invalid")), []);
  // The spec's Error codes are err.* only: a rjct code cannot travel in an ERR ACK.
  assert.match(
    answerErrors("/registry/sync/search", 409, ack("ERR", "rjct.message_id.duplicate")).join(),
    /error\.code/,
  );
  // Other paths under a registry prefix answer the ERR ACK; paths outside the DCI API are not checked.
  assert.deepEqual(answerErrors("/registry/nope", 404, ack("ERR", "err.request.not_found")), []);
  assert.deepEqual(
    answerErrors("/registry/sync/search", 404, ack("ERR", "err.request.not_found"), "GET"),
    [],
  );
  assert.deepEqual(answerErrors("/admin/v1/senders", 400, { anything: true }), []);
  assert.deepEqual(specTarget("/dci_api/v1/ibr/registry/sync/enrolled"), {
    registry: "ibr",
    endpoint: "/registry/sync/enrolled",
  });
  assert.equal(specTarget("/dci_api/v1/nope/registry/search"), undefined);
});

Deno.test("callbackErrors() checks a callback by its path and header.action, and catches a notify in the wrong shape", () => {
  const notify = {
    header: header("notify"),
    message: {
      transaction_id: "n-1",
      notify_event: [{
        reference_id: "n-1",
        timestamp: TS,
        data: {
          reg_type: "ns:org:RegistryType:Social",
          reg_event_type: "REGISTER",
          reg_record_type: "SRPerson",
          reg_records: {},
        },
      }],
    },
  };
  assert.deepEqual(callbackErrors(notify, { path: "https://rx.example/cb/registry/notify" }), []);
  assert.match(
    callbackErrors(notify, { path: "/cb/registry/on-search" }).join(),
    /posted to \/cb\/registry\/on-search/,
  );
  const asArray = structuredClone(notify) as Json;
  asArray.message.notify_event[0].data.reg_records = [{}];
  assert.match(callbackErrors(asArray).join(), /reg_records: must be object/);
  assert.match(callbackErrors({ header: { action: "search" } }).join(), /not a callback action/);
  assert.match(callbackErrors("not json", { path: "/registry/on-search" }).join(), /not a callback action/);
});

Deno.test("each relaxation in spec_defects.ts is exercised: the raw spec refuses what the relaxed one accepts", () => {
  assert.deepEqual(SPEC_DEFECTS.map((d) => d.id), [
    "notify-event-types",
    "txn-status-subscription-shapes",
    "dr-search-reg-records",
    "fr-txn-status-search-reg-records",
    "receipt-operations",
    "ibr-sync-responses",
  ]);
  const NOTIFY = "/components/schemas/NotifyEventRequest";
  const update = {
    transaction_id: "n",
    notify_event: [{
      reference_id: "n",
      timestamp: TS,
      data: { reg_event_type: "UPDATE", reg_record_type: "SRPerson", reg_records: {} },
    }],
  };
  assert.match(
    specErrors("social", NOTIFY, update, { raw: true }).join(),
    /reg_event_type: must be equal to one of/,
  );
  assert.deepEqual(specErrors("social", NOTIFY, update), []);
  const frUpdate = structuredClone(update);
  frUpdate.notify_event[0].data.reg_record_type = "Farmer";
  assert.match(
    specErrors("fr", NOTIFY, frUpdate, { raw: true }).join(),
    /reg_event_type: must be equal to one of/,
  );
  assert.deepEqual(specErrors("fr", NOTIFY, frUpdate), []);

  const TXN = "/components/schemas/TxnStatusResponse";
  const subscribeStatus = {
    transaction_id: "q",
    correlation_id: "c",
    txnstatus_response: {
      txn_type: "subscribe",
      txn_status: {
        transaction_id: "t",
        correlation_id: "c2",
        subscribe_response: [{ reference_id: "r", timestamp: TS, status: "succ" }],
      },
    },
  };
  for (const registry of ["social", "ibr"] as const) {
    assert.notDeepEqual(specErrors(registry, TXN, subscribeStatus, { raw: true }), [], registry);
    assert.deepEqual(specErrors(registry, TXN, subscribeStatus), [], registry);
  }
  assert.deepEqual(
    specErrors("crvs", TXN, subscribeStatus, { raw: true }),
    [],
    "the model the relaxation copies",
  );

  const receipt = {
    signature: "s",
    header: header("on-receipt"),
    message: { transaction_id: "t", correlation_id: "c", receipt_response: { status: "succ" } },
  };
  assert.equal(rawSpecDocument("social").paths["/registry/sync/receipt"], undefined);
  assert.deepEqual(answerErrors("/registry/sync/receipt", 200, receipt), []);
  assert.match(
    answerErrors("/registry/sync/receipt", 200, {
      ...receipt,
      header: header("on-receipt", { status_reason_code: "rjct.reference_id.invalid" }),
    }).join(),
    /status_reason_code/,
  );
  assert.deepEqual(callbackErrors(receipt, { path: "/registry/on-receipt", registry: "crvs" }), []);

  const drSearch = "/components/schemas/SearchResponse";
  const drAnswer = onSearch().message;
  assert.match(specErrors("dr", drSearch, drAnswer, { raw: true }).join(), /reg_records: must be object/);
  assert.deepEqual(specErrors("dr", drSearch, drAnswer), []);
  const drNotify = {
    transaction_id: "n",
    notify_event: [{ reference_id: "n", timestamp: TS, data: { reg_record_type: "x", reg_records: {} } }],
  };
  assert.deepEqual(specErrors("dr", NOTIFY, drNotify), [], "DR's notify keeps its object");

  // FR's txn status carries its own copy of the search answer, its reg_records still an object.
  const frStatus = {
    transaction_id: "q",
    correlation_id: "c",
    txnstatus_response: { txn_type: "search", txn_status: onSearch().message },
  };
  assert.match(specErrors("fr", TXN, frStatus, { raw: true }).join(), /reg_records: must be object/);
  assert.deepEqual(specErrors("fr", TXN, frStatus), []);

  // A defect fixed upstream makes its entry fail loudly.
  const fixed = rawSpecDocument("social");
  fixed.components.schemas.NotifyEventRequest.properties.notify_event.items.properties.data.properties
    .reg_event_type.enum
    .push("UPDATE");
  assert.throws(
    () => relaxDefects("social", fixed),
    /spec defect "notify-event-types" is no longer in social's yaml/,
  );
});

Deno.test("operations a registry's yaml lacks are checked against the yaml BORROWED_OPERATIONS names", () => {
  for (const b of BORROWED_OPERATIONS) {
    for (const endpoint of b.endpoints) {
      const pointer = `/paths/${endpoint.replaceAll("/", "~1")}/post`;
      assert.equal(specHas(b.registry, pointer), false, `${b.registry} ${endpoint} is missing`);
      assert.equal(specHas(b.from, pointer), true, `${b.from} ${endpoint} exists`);
    }
  }
  const status = {
    signature: "s",
    header: header("txn-on-status"),
    message: {
      transaction_id: "q",
      correlation_id: "c",
      txnstatus_response: {
        txn_type: "search",
        txn_status: { transaction_id: "t", correlation_id: "c", search_response: [] },
      },
    },
  };
  assert.deepEqual(answerErrors("/dci_api/v1/dr/registry/sync/txn/status", 200, status), []);
  assert.match(
    answerErrors("/dci_api/v1/dr/registry/sync/txn/status", 200, { ...status, message: {} }).join(),
    /txnstatus_response/,
  );
});

Deno.test("the three defects of OPENSPP_SPEC_ISSUES_REPORT.md stay fixed in the spec copies", () => {
  for (const registry of ["crvs", "fr"] as const) {
    const s = specDocument(registry).components.schemas;
    assert.ok(
      s.UnSubscribeRequest.required.includes("subscription_codes"),
      `${registry}: sunscription_codes typo`,
    );
    assert.ok(
      s.TxnStatusRequest.properties.txnstatus_request.properties.attribute_value.anyOf,
      `${registry}: anyOf`,
    );
  }
  const fr = specDocument("fr").components.schemas.SearchResponse;
  assert.equal(fr.properties.search_response.items.properties.data.properties.reg_records.type, "array");
});

Deno.test("every test reaches the server through the checked helpers (app, fetch, receivers)", async () => {
  const root = new URL("../", import.meta.url);
  const offenders: string[] = [];
  const walk = async (dir: URL) => {
    for await (const e of Deno.readDir(dir)) {
      const url = new URL(e.name + (e.isDirectory ? "/" : ""), dir);
      if (e.isDirectory) await walk(url);
      else if (e.name.endsWith(".ts") && !url.pathname.endsWith("/tests/helpers/app.ts")) {
        const text = await Deno.readTextFile(url);
        const rel = url.pathname.slice(root.pathname.length);
        if (/from "(\.\.\/)+src\/app\.ts"/.test(text)) {
          offenders.push(`${rel}: imports src/app.ts (use tests/helpers/app.ts)`);
        }
        if (/[^.\w]fetch\(\s*`[^`]*\/registry\//.test(text)) {
          offenders.push(`${rel}: bare fetch() of a registry path (use specFetch)`);
        }
      }
    }
  };
  await walk(root);
  assert.deepEqual(offenders, []);
});
