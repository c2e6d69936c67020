/**
 * The replay guard and a storage fault between admission and accept: the message_id is recorded (with the rate
 * limit's count) before the transaction is stored, so an accept that meets a full disk or a held lock answers 503
 * with the message_id already seen. The copy sent again, as Retry-After invites, is accepted, because no
 * transaction was stored under it; once one is, a copy is a duplicate. Real parts on either backend (SQLite, or
 * PostgreSQL with --pg): the app, its stores; the fault is the store's write failing as a full disk fails it.
 * The held write lock itself: tests/faults/storage_fault_steps_test.ts.
 */
import { equal, match } from "node:assert/strict";
import { type Harness, harness, type Json, searchMessage } from "../transactions/support.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import { bulkForm, postBulk } from "../transactions/bulk_support.ts";
import { createTestSender, type TestSender } from "../helpers/auth.ts";

/** What a full disk answers a write, on SQLite (SQLITE_FULL) as on PostgreSQL (disk_full). */
function diskFull(): Error {
  return Object.assign(new Error("database or disk is full"), { errcode: 13, code: "53100" });
}

/** Makes the next transaction insert fail as on a full disk (the admission before it commits). */
function failNextInsert(h: Harness): void {
  const store = h.deps.storage.transactions;
  const insert = store.insert;
  store.insert = () => {
    store.insert = insert;
    return Promise.reject(diskFull());
  };
}

async function post(h: Harness, path: string, body: string) {
  const res = await h.app.request(path, {
    method: "POST",
    headers: { "content-type": "application/json", ...h.alice.headers() },
    body,
  });
  return { status: res.status, headers: res.headers, body: await res.json() as Json };
}

async function storedUnder(h: Harness, messageId: string): Promise<number> {
  const rows = await h.deps.sql("SELECT COUNT(*) AS n FROM transactions WHERE message_id = ?", [messageId]);
  return Number((rows[0] as { n: number | string }).n);
}

Deno.test("replay guard: an async request refused 503 for storage is accepted when sent again; a stored one's copy is a duplicate", async () => {
  const h = await harness();
  try {
    const envelope = requestEnvelope(h.alice.senderId, searchMessage("t-resend"), {
      nowMs: h.deps.clock.now(),
      totalCount: 1,
      header: { sender_uri: "https://alice.example/cb" },
    });
    const body = JSON.stringify(h.alice.sign(envelope, h.deps.clock.now()));
    const messageId = envelope.header.message_id as string;
    failNextInsert(h);
    const refused = await post(h, "/registry/search", body);
    equal(refused.status, 503, JSON.stringify(refused.body));
    equal(refused.headers.get("retry-after"), "30");
    equal(await storedUnder(h, messageId), 0);
    // Before: 409 rjct.message_id.duplicate, and the transaction was never stored.
    const again = await post(h, "/registry/search", body);
    equal(again.status, 202, JSON.stringify(again.body));
    equal(await storedUnder(h, messageId), 1);
    // Each copy that reached admission counted (as a refused signature does): the minute's quota shows two.
    const limit = h.deps.config.rateLimitMinute;
    match(again.headers.get("ratelimit") ?? "", new RegExp(`^"minute";r=${limit - 2};`));
    const third = await post(h, "/registry/search", body);
    equal(third.status, 409);
    match(third.body.message.error.message, /^rjct\.message_id\.duplicate/);
    equal(await storedUnder(h, messageId), 1);
  } finally {
    h.close();
  }
});

Deno.test("replay guard: a sync request's copy is a duplicate, its answer being stored nowhere", async () => {
  const h = await harness();
  try {
    const envelope = requestEnvelope(h.alice.senderId, searchMessage("t-sync"), {
      nowMs: h.deps.clock.now(),
      totalCount: 1,
    });
    const body = JSON.stringify(h.alice.sign(envelope, h.deps.clock.now()));
    equal((await post(h, "/registry/sync/search", body)).status, 200);
    const again = await post(h, "/registry/sync/search", body);
    equal(again.status, 409);
    equal(again.body.header.status_reason_code, "rjct.message_id.duplicate");
  } finally {
    h.close();
  }
});

Deno.test("replay guard: a sync request's copy sent to the async route is a duplicate, and nothing is stored", async () => {
  const h = await harness();
  try {
    // The signature covers the envelope, not the path: one signed search body is valid on either route.
    const envelope = requestEnvelope(h.alice.senderId, searchMessage("t-sync-to-async"), {
      nowMs: h.deps.clock.now(),
      totalCount: 1,
      header: { sender_uri: "https://alice.example/cb" },
    });
    const body = JSON.stringify(h.alice.sign(envelope, h.deps.clock.now()));
    const messageId = envelope.header.message_id as string;
    equal((await post(h, "/registry/sync/search", body)).status, 200);
    // Before: 202, and the transaction stored and processed (the sync answer stores nothing under the id).
    const replayed = await post(h, "/registry/search", body);
    equal(replayed.status, 409, JSON.stringify(replayed.body));
    match(replayed.body.message.error.message, /^rjct\.message_id\.duplicate/);
    equal(await storedUnder(h, messageId), 0);
  } finally {
    h.close();
  }
});

Deno.test("replay guard: a bulk search upload refused 503 for storage is accepted when sent again", async () => {
  const h = await harness();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, h.app.fetch);
  try {
    const url = `http://127.0.0.1:${server.addr.port}/registry/search`;
    const form = await bulkForm(h.alice.senderId, {
      format: "csv",
      file: "type,value\nUIN,NOBODY-1\nUIN,NOBODY-2\n",
      senderUri: "https://alice.example/cb",
      header: { message_ts: new Date(h.deps.clock.now()).toISOString() },
    });
    const messageId = /"message_id":"([^"]+)"/.exec(new TextDecoder().decode(form.bytes))![1];
    failNextInsert(h);
    const refused = await postBulk(url, h.alice, form);
    equal(refused.status, 503, JSON.stringify(refused.body));
    // Before: 409 rjct.message_id.duplicate.
    const again = await postBulk(url, h.alice, form);
    equal(again.status, 202, JSON.stringify(again.body));
    equal(await storedUnder(h, messageId), 1);
    const third = await postBulk(url, h.alice, form);
    equal(third.status, 409, JSON.stringify(third.body));
  } finally {
    await server.shutdown();
    h.close();
  }
});

const UPDATES = "/dci_api/v1/ibr/registry/sync/enrollment/updates";

/**
 * An enrolment update of three beneficiaries: one with an identifier, one without, and a household (with its own
 * identifier) of two members, one of them without identifiers. Signed by `sp`.
 */
function enrolmentBody(h: Harness, sp: TestSender): { body: string; messageId: string } {
  const programme_identifier = [{
    programme_identifier: "PRG-RETRY",
    programme_name: "Retry programme",
    enrolment_date: "2025-03-01",
    enrolment_status: "Active",
  }];
  const beneficiaries = [
    {
      member: { member_identifier: [{ identifier_type: "UIN", identifier_value: "RETRY-1" }] },
      programme_identifier,
    },
    { member: { demographic_info: { name: { surname: "Withoutids" } } }, programme_identifier },
    {
      group: {
        group_identifier: [{ identifier_type: "HOUSEHOLD_ID", identifier_value: "HH-RETRY" }],
        member_list: [
          { member_identifier: [{ identifier_type: "UIN", identifier_value: "RETRY-M1" }] },
          { demographic_info: { name: { surname: "Memberwithoutids" } } },
        ],
      },
      programme_identifier,
    },
  ];
  const envelope = requestEnvelope(sp.senderId, {
    transaction_id: "t-retry",
    enrolled_updates: { beneficiaries },
  }, {
    action: "notify",
    nowMs: h.deps.clock.now(),
    totalCount: beneficiaries.length,
  });
  return {
    body: JSON.stringify(sp.sign(envelope, h.deps.clock.now())),
    messageId: envelope.header.message_id as string,
  };
}

async function postAs(h: Harness, sp: TestSender, path: string, body: string) {
  const res = await h.app.request(path, {
    method: "POST",
    headers: { "content-type": "application/json", ...sp.headers() },
    body,
  });
  return { status: res.status, headers: res.headers, body: await res.json() as Json };
}

/** The IBR's live records by storage type, and its events so far. */
async function ibrState(h: Harness): Promise<{ counts: Record<string, number>; events: number }> {
  const events = await h.deps.storage.registry.eventsAfter(0, { registry: "ibr", limit: 1000 });
  return { counts: await h.deps.storage.registry.counts("ibr"), events: events.length };
}

Deno.test("replay guard: an IBR enrolment update answered 503 part-way is applied in full when sent again, each record once; an answered one's copy is a duplicate", async () => {
  const h = await harness();
  try {
    const sp = await createTestSender(h.deps, { scopes: ["registry.search", "registry.enrollment"] });
    const empty = await ibrState(h);
    // The household's write fails as on a full disk: the two beneficiaries before it are written, then 503.
    const registry = h.deps.storage.registry;
    const save = registry.save;
    registry.save = (reg, options) => {
      if (reg.recordType !== "ibr_group") return save(reg, options);
      registry.save = save;
      return Promise.reject(diskFull());
    };
    const { body } = enrolmentBody(h, sp);
    const refused = await postAs(h, sp, UPDATES, body);
    equal(refused.status, 503, JSON.stringify(refused.body));
    const partial = await ibrState(h);
    equal(
      partial.counts.ibr_person - empty.counts.ibr_person,
      2,
      "two beneficiaries written before the fault",
    );
    equal(partial.counts.ibr_group, empty.counts.ibr_group);
    equal(partial.events - empty.events, 2);
    // Before: 409 rjct.message_id.duplicate, the household and its members never written.
    const again = await postAs(h, sp, UPDATES, body);
    equal(again.status, 200, JSON.stringify(again.body));
    equal(
      again.body.message.enrolled_response.map((i: Json) => i.status).join(),
      "succ,succ,succ",
      JSON.stringify(again.body.message),
    );
    const full = await ibrState(h);
    // Each record once: the two written before are found again (one by its identifier, one by the id the
    // request gives it) and left unchanged (no event); the household and its two members are new.
    equal(full.counts.ibr_person - empty.counts.ibr_person, 4, JSON.stringify(full.counts));
    equal(full.counts.ibr_group - empty.counts.ibr_group, 1);
    equal(full.events - partial.events, 3);
    const third = await postAs(h, sp, UPDATES, body);
    equal(third.status, 409, JSON.stringify(third.body));
    equal(third.body.header.status_reason_code, "rjct.message_id.duplicate");
    equal((await ibrState(h)).events, full.events);
  } finally {
    h.close();
  }
});

Deno.test("replay guard: an IBR enrolment update whose answer could not be recorded is answered, and a copy applied again changes nothing", async () => {
  const h = await harness();
  try {
    const sp = await createTestSender(h.deps, { scopes: ["registry.search", "registry.enrollment"] });
    const limits = h.deps.storage.limits;
    const settle = limits.settle;
    limits.settle = () => Promise.reject(diskFull());
    const { body } = enrolmentBody(h, sp);
    const first = await postAs(h, sp, UPDATES, body);
    equal(first.status, 200, JSON.stringify(first.body));
    const written = await ibrState(h);
    // An unanswered write request's message_id is no pass to another route: the sync search refuses it.
    const search = await postAs(h, sp, "/dci_api/v1/ibr/registry/sync/search", body);
    equal(search.status, 409, JSON.stringify(search.body));
    limits.settle = settle;
    const copy = await postAs(h, sp, UPDATES, body);
    equal(copy.status, 200, JSON.stringify(copy.body));
    equal(copy.body.message.enrolled_response.map((i: Json) => i.status).join(), "succ,succ,succ");
    const after = await ibrState(h);
    equal(JSON.stringify(after.counts), JSON.stringify(written.counts), "no record twice");
    equal(after.events, written.events, "nothing changed");
    equal((await postAs(h, sp, UPDATES, body)).status, 409);
  } finally {
    h.close();
  }
});
