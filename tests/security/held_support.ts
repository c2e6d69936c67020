/**
 * Shared by the "what held" tests (issue 11): a harness holding one of everything, admin calls to an in-process
 * app, and a database fingerprint.
 */
import { createHash } from "node:crypto";
import type { createApp } from "../helpers/app.ts";
import type { Config } from "../../src/config.ts";
import type { Deps } from "../../src/deps.ts";
import type { AdminRole } from "../../src/admin/tokens.ts";
import type { TestDeps } from "../helpers/deps.ts";
import { addSender } from "../../src/senders/store.ts";
import { subscribeProcessor } from "../../src/subscriptions/processors.ts";
import { runNotifierOnce } from "../../src/subscriptions/notifier.ts";
import { type Harness, harness, type Json, searchMessage } from "../transactions/support.ts";
import { input, person, putPerson, subItem } from "../subscriptions/helpers.ts";
import type { Answer } from "./support.ts";

/** A harness with one of everything and its ids: registrant P-1, a transaction, a subscription, a notification. */
export interface Populated {
  h: Harness;
  correlationId: string;
  code: string;
  notificationId: string;
}

/**
 * A harness (sender alice) holding registrant "P-1", alice's async search (called back), and sender "carol"'s
 * active subscription with one notification sent.
 */
export async function populated(overrides: Partial<Record<keyof Config, string>> = {}): Promise<Populated> {
  const h = await harness(overrides);
  await putPerson(h.deps, person("P-1"));
  const ack = await h.post("/registry/search", searchMessage("t-held"));
  await h.drain();
  await addSender(h.deps, "carol", { name: "carol", auto_approve_subscriptions: true });
  const sub = await subscribeProcessor(
    h.deps,
    input(
      "carol",
      { transaction_id: "t-sub", subscribe_request: [subItem("r", {})] },
      "https://carol.example/cb",
    ),
  );
  await putPerson(h.deps, person("P-1", { sex: "male" }));
  await runNotifierOnce(h.deps, { random: () => 0.5 });
  return {
    h,
    correlationId: (ack.body.message as Json).correlation_id,
    code: (sub.message.subscribe_response as Json[])[0].subscriptions[0].code,
    notificationId: (await h.deps.storage.notifications.list({ sender: "carol" }))[0].notification_id,
  };
}

/** Calls `/admin/v1{path}` of an app with one admin token. */
export type AdminCall = (method: string, path: string, body?: unknown) => Promise<Answer>;

/** Creates an admin token of `role` and returns a caller that sends it (JSON body unless GET/HEAD/DELETE). */
export async function adminCaller(
  app: ReturnType<typeof createApp>,
  deps: Deps,
  role: AdminRole = "admin",
): Promise<AdminCall> {
  const { token } = await deps.storage.adminTokens.create({ role });
  return async (method, path, body) => {
    const res = await app.request(`/admin/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: ["GET", "HEAD", "DELETE"].includes(method) ? undefined : JSON.stringify(body ?? {}),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch { /* not JSON: kept as text */ }
    return { status: res.status, body: parsed };
  };
}

/** The tables of the test's database, by name (SQLite's catalogue or PostgreSQL's schema). */
const TABLES = {
  sqlite: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
  postgres: `SELECT table_name AS name FROM information_schema.tables
    WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`,
};

/**
 * A digest of every row of every table (in storage order: rowid, or ctid on PostgreSQL), so a test can show that
 * a refused request changed nothing at all. Tables in `except` are left out (counters a refusal may touch).
 */
export async function databaseFingerprint(deps: TestDeps, except: string[] = []): Promise<string> {
  const tables = await deps.sql(TABLES[deps.backend]) as Array<{ name: string }>;
  const order = deps.backend === "postgres" ? " ORDER BY ctid" : "";
  const hash = createHash("sha256");
  for (const { name } of tables) {
    if (except.includes(name)) continue;
    hash.update(`\n#${name}\n`);
    for (const row of await deps.sql(`SELECT * FROM "${name}"${order}`)) {
      hash.update(JSON.stringify(row, (_k, v) => typeof v === "bigint" ? String(v) : v));
    }
  }
  return hash.digest("hex");
}
