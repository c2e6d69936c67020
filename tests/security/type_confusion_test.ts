/**
 * Item 18 (issue 11): objects, arrays, numbers and null where a search request expects strings or enums
 * (`{"toString": true}` made `String(value)` throw: sync/search answered 500, async search ended
 * rjct.processing.failed). Every field of a signed search request gets every poison, sync and async, against
 * the real server (the fuzz harness's target, sender and oracle): no 5xx, no processing failure, and the
 * fields with a spec code answer it.
 */
import assert from "node:assert/strict";
import { integrityCheck, startFuzzTarget } from "../fuzz/target.ts";
import { envelopeText, type FuzzCase, type FuzzContext, jsonHeaders, trySign } from "../fuzz/cases.ts";
import { judge } from "../fuzz/runner.ts";
import { type Answer, send } from "../fuzz/send.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import { dataDirSql, type ServerProcess } from "../helpers/server.ts";
import { TEST_BACKEND } from "../helpers/deps.ts";

type Obj = Record<string, unknown>;

/** Values that are not what a string or enum field expects; parsed from JSON so `__proto__` is an own key. */
const POISONS: ReadonlyArray<[string, string]> = [
  ["toString", '{"toString":true}'],
  ["valueOf", '{"valueOf":true}'],
  ["toString+valueOf", '{"toString":true,"valueOf":true}'],
  ["toJSON", '{"toJSON":true}'],
  ["__proto__", '{"__proto__":{"polluted":true,"toString":true}}'],
  ["constructor", '{"constructor":{"prototype":{"polluted":true}}}'],
  ["empty array", "[]"],
  ["array of toString", '[{"toString":true}]'],
  ["array", '["asc","desc"]'],
  ["number", "1"],
  ["negative float", "-1.5"],
  ["huge number", "1e308"],
  ["null", "null"],
  ["true", "true"],
  ["empty string", '""'],
];

const CRITERIA: Record<string, Obj> = {
  predicate: {
    query_type: "predicate",
    query: [{
      seq_num: 1,
      expression1: { attribute_name: "birth_date", operator: "ge", attribute_value: "1990-01-01" },
      condition: "and",
      expression2: { attribute_name: "sex", operator: "eq", attribute_value: "female" },
    }, { seq_num: 2, expression1: { attribute_name: "poverty_score", operator: "lt", attribute_value: 9 } }],
    sort: [{ attribute_name: "birth_date", sort_order: "asc" }],
    pagination: { page_size: 5, page_number: 1 },
    reg_type: "ns:org:RegistryType:Social",
    reg_record_type: "SRPerson",
    consent: {},
    authorize: {},
  },
  mongo: {
    query_type: "expression",
    query: {
      type: "ns:org:QueryType:NoSql",
      value: {
        expression: {
          birth_date: { $gte: "1990-01-01" },
          poverty_score: { $lt: 9 },
          age: { $in: [30, 31] },
          registration_date: { $not: { $eq: "2020-01-01" } },
          identifier: { $ne: "X-1" },
          $and: [{ sex: "female" }],
          $nor: [{ locality: { $in: ["Nowhere"] } }],
        },
      },
    },
  },
  collection: {
    query_type: "expression",
    query: {
      type: "mongo",
      value: { expression: { collection: "Group", query: { group_size: { $gt: 1 } } } },
    },
  },
  openspp: {
    query_type: "expression",
    query: { expression: { seq: [{ attribute: "sex", operator: "eq", value: "male" }], or: [{ age: 1 }] } },
  },
  idtype: { query_type: "idtype-value", query: { type: "UIN", value: "TEST-001" } },
};

const ITEM = "message.search_request.0";
const SC = `${ITEM}.search_criteria`;
const MONGO = `${SC}.query.value.expression`;

/** Every field path to poison, with the criteria it starts from. */
const FIELDS: ReadonlyArray<[base: string, path: string]> = [
  ...[
    "version",
    "message_id",
    "message_ts",
    "action",
    "sender_uri",
    "receiver_id",
    "total_count",
    "is_msg_encrypted",
    "meta",
  ].map((f): [string, string] => ["idtype", `header.${f}`]),
  ["idtype", "message.transaction_id"],
  ["idtype", "message.search_request"],
  ["idtype", ITEM],
  ...["reference_id", "timestamp", "locale", "search_criteria"].map((f): [string, string] => [
    "idtype",
    `${ITEM}.${f}`,
  ]),
  ["idtype", `${SC}.query`],
  ["idtype", `${SC}.query.type`],
  ["idtype", `${SC}.query.value`],
  ...[
    "version",
    "reg_type",
    "reg_record_type",
    "response_entity",
    "query_type",
    "query",
    "sort",
    "sort.0",
    "sort.0.attribute_name",
    "sort.0.sort_order",
    "pagination",
    "pagination.page_size",
    "pagination.page_number",
    "consent",
    "authorize",
    "query.0",
    "query.0.seq_num",
    "query.1.seq_num",
    "query.0.expression1",
    "query.0.expression1.attribute_name",
    "query.0.expression1.operator",
    "query.0.expression1.attribute_value",
    "query.0.condition",
    "query.0.expression2",
    "query.0.expression2.operator",
    "query.0.expression2.attribute_value",
  ].map((f): [string, string] => ["predicate", `${SC}.${f}`]),
  ...[
    "",
    ".birth_date",
    ".birth_date.$gte",
    ".poverty_score.$lt",
    ".age.$in",
    ".age.$in.0",
    ".registration_date.$not",
    ".registration_date.$not.$eq",
    ".identifier.$ne",
    ".$and",
    ".$and.0",
    ".$and.0.sex",
    ".$nor",
    ".$nor.0.locality.$in.0",
  ].map((f): [string, string] => ["mongo", `${MONGO}${f}`]),
  ["mongo", `${SC}.query.type`],
  ["collection", `${MONGO}.collection`],
  ["collection", `${MONGO}.query.group_size.$gt`],
  ["openspp", `${SC}.query.expression.seq`],
  ["openspp", `${SC}.query.expression.seq.0`],
  ["openspp", `${SC}.query.expression.seq.0.attribute`],
  ["openspp", `${SC}.query.expression.seq.0.operator`],
  ["openspp", `${SC}.query.expression.seq.0.value`],
  ["openspp", `${SC}.query.expression.or.0.age`],
];

/** Sets `path` (dot-separated; array indices as numbers) of `root` to `value` as an own property. */
function setPath(root: Obj, path: string, value: unknown): void {
  const keys = path.split(".");
  let at = root as Record<string, unknown>;
  for (const k of keys.slice(0, -1)) at = at[k] as Record<string, unknown>;
  Object.defineProperty(at, keys[keys.length - 1], {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

function poisonedCase(
  ctx: FuzzContext,
  index: number,
  field: readonly [string, string],
  poison: readonly [string, string],
  kind: "sync" | "async",
): FuzzCase {
  const env = requestEnvelope(ctx.sender.senderId, {
    transaction_id: `tc-${kind}-${index}`,
    search_request: [{
      reference_id: `ref-${index}`,
      timestamp: new Date().toISOString(),
      search_criteria: structuredClone(CRITERIA[field[0]]),
    }],
  }, { totalCount: 1, header: { sender_uri: ctx.sender.callbackUri } }) as unknown as Obj;
  setPath(env, field[1], JSON.parse(poison[1]));
  return {
    index,
    category: "query",
    desc: `${kind} ${field[1]} = ${poison[0]}`,
    method: "POST",
    path: kind === "sync" ? "/registry/sync/search" : "/registry/search",
    kind,
    headers: jsonHeaders(ctx.sender),
    body: envelopeText(trySign(ctx.sender, env as never), env.header, env.message),
    authentic: true,
  };
}

/** Sends every case with a few in flight; returns the answers in case order. */
async function sendAll(url: string, cases: FuzzCase[]): Promise<Answer[]> {
  const answers: Answer[] = new Array(cases.length);
  let next = 0;
  const worker = async () => {
    while (next < cases.length) {
      const i = next++;
      answers[i] = await send(url, cases[i]);
    }
  };
  await Promise.all(Array.from({ length: 6 }, worker));
  return answers;
}

interface StoredTxn {
  transaction_id: string;
  state: string;
  status_reason_code: string | null;
  result: string | null;
}

/**
 * The sender's async transactions once none is still waiting for the worker (60 s at most: the worker works
 * through a thousand of them, slowly on a loaded machine; a healthy run returns as soon as they are done).
 */
async function settledTransactions(dataDir: string, senderId: string): Promise<StoredTxn[]> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const rows = await dataDirSql(
      dataDir,
      `SELECT t.transaction_id, t.state, t.status_reason_code, r.result
       FROM transactions t LEFT JOIN transaction_results r ON r.txn = t.id WHERE t.sender_id = ?`,
      [senderId],
    ) as unknown as StoredTxn[];
    const open = rows.filter((r) => ["received", "pending", "processing"].includes(r.state));
    if (open.length === 0 || Date.now() > deadline) return rows;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** What the server logged at warn or error level, whether it exited, and its stderr (for a failure's message). */
async function serverTrouble(
  server: Pick<ServerProcess, "logs" | "exited" | "stderr">,
): Promise<string> {
  const exited = await Promise.race([
    server.exited,
    new Promise<undefined>((r) => setTimeout(() => r(undefined), 100)),
  ]);
  const lines = server.logs.filter((l) => l.level === "error" || l.level === "warn" || l.msg === "stopped");
  return `${exited ? `exited with ${exited.code}; ` : "running; "}${
    JSON.stringify(lines.slice(-10)).slice(0, 4000)
  }; stderr: ${server.stderr().slice(-4000)}`;
}

function itemCode(json: Obj | undefined): unknown {
  const m = json?.message as { search_response?: Array<{ status_reason_code?: string }> } | undefined;
  return m?.search_response?.[0]?.status_reason_code;
}

/** Paths whose poisoning must be answered with a specific item code (when the poison is not a valid value). */
const EXPECTED: ReadonlyArray<[path: string, code: string]> = [
  [`${SC}.sort.0.sort_order`, "rjct.sort.invalid"],
  [`${SC}.query.0.condition`, "rjct.filter.invalid"],
];

Deno.test("search: objects, arrays, numbers and null in every request field never answer 5xx, sync or async", async () => {
  const { server, ctx, receiver } = await startFuzzTarget({ DCI_SEED_DEMO: "true", DCI_DEMO_SIZE: "50" });
  try {
    const cases: FuzzCase[] = [];
    for (const kind of ["sync", "async"] as const) {
      for (const field of FIELDS) {
        for (const poison of POISONS) cases.push(poisonedCase(ctx, cases.length, field, poison, kind));
      }
    }
    const answers = await sendAll(ctx.url, cases);
    const problems = cases.map((c, i) => {
      const problem = judge(c, answers[i]);
      return problem ? `${c.desc}: ${problem} ${answers[i].text.slice(0, 200)}` : undefined;
    }).filter(Boolean);
    // Async: every accepted transaction ends without a processing failure.
    const txns = await settledTransactions(server.dataDir, ctx.sender.senderId);
    const failed = txns.filter((t) =>
      ["received", "pending", "processing"].includes(t.state) ||
      t.status_reason_code === "rjct.processing.failed"
    ).map((t) => `${t.transaction_id}: ${t.state} ${t.status_reason_code}`);
    assert.deepEqual(
      { problems, failed },
      { problems: [], failed: [] },
      problems.length + failed.length === 0 ? undefined : `the server: ${await serverTrouble(server)}`,
    );
    // The fields with a spec code answer it (sync).
    for (const [path, code] of EXPECTED) {
      for (const poison of POISONS) {
        const i = cases.findIndex((c) => c.kind === "sync" && c.desc === `sync ${path} = ${poison[0]}`);
        // null reads as absent (the default "and", sort_order's "asc"), and so does "" for a condition.
        if (poison[0] === "null" || (poison[0] === "empty string" && path.endsWith("condition"))) continue;
        assert.equal(itemCode(answers[i].json), code, `${cases[i].desc}: ${answers[i].text.slice(0, 300)}`);
      }
    }
    // Async: every accepted request became a transaction, answered with the same item codes.
    const accepted = answers.filter((a, i) => cases[i].kind === "async" && a.status === 202).length;
    assert.ok(accepted > 100, `only ${accepted} async requests were accepted`);
    assert.equal(txns.length, accepted);
    for (const [path, code] of EXPECTED) {
      const c = cases.find((c) => c.kind === "async" && c.desc === `async ${path} = toString`)!;
      const t = txns.find((t) => t.transaction_id === `tc-async-${c.index}`)!;
      assert.equal(
        itemCode({ message: JSON.parse(t.result ?? "{}") }),
        code,
        `${c.desc}: ${t.result?.slice(0, 300)}`,
      );
    }
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  } finally {
    await server.stop();
    await receiver.close();
  }
  // SQLite's own integrity check of the file (PostgreSQL keeps no database file in the data dir).
  if (TEST_BACKEND === "sqlite") assert.equal(integrityCheck(server.dataDir), "ok");
  await Deno.remove(server.dataDir, { recursive: true });
});
