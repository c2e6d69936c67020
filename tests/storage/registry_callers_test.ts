/**
 * The registry store's callers on both backends: the admin registrant routes (create, conflict, read, patch,
 * list, search, counts, delete, events), the IBR store and the DR finder, over `deps.storage.registry` alone.
 */
import { Buffer } from "node:buffer";
import { deepEqual, equal } from "node:assert/strict";
import { OpenAPIHono } from "@hono/zod-openapi";
import { backendTest } from "../helpers/storage.ts";
import { senderDeps } from "../helpers/two_instances.ts";
import type { Deps } from "../../src/deps.ts";
import type { Storage } from "../../src/db/storage.ts";
import type { AppEnv } from "../../src/http/context.ts";
import { DciError } from "../../src/dci/errors.ts";
import { registrantAdminRoutes } from "../../src/registry/admin_routes.ts";
import { readRegistrant } from "../../src/registry/model.ts";
import { ibrStore } from "../../src/registries/ibr/sql_store.ts";
import { ibrProfile } from "../../src/registries/ibr/index.ts";
import { drProfile } from "../../src/registries/dr/profile.ts";
import { storeFinder } from "../../src/registries/dr/actions/lookup.ts";
import { DR_TEST_UIN } from "../../src/registries/dr/demo.ts";

type Json = Record<string, unknown>;

/** Deps over `storage` only: no `db` (a caller still reading SQLite directly fails), no queue (wake-ups go nowhere). */
function registryDeps(storage: Storage): Deps {
  return { ...senderDeps(storage), queue: {} } as unknown as Deps;
}

backendTest(
  "registry callers: the admin routes create, refuse, read, patch, list, delete and list events",
  async (s) => {
    const app = new OpenAPIHono<AppEnv>();
    app.onError((e, c) => {
      if (e instanceof DciError) return c.json({ message: e.message }, e.status as 400);
      throw e;
    });
    registrantAdminRoutes(app, registryDeps(s));
    const call = async (method: string, path: string, body?: Json) => {
      const res = await app.request(path, {
        method,
        headers: { "content-type": "application/json" },
        body: body && JSON.stringify(body),
      });
      return { status: res.status, body: await res.json() as Json };
    };
    equal(
      (await call("POST", "/registrants", { id: "G1", record_type: "group", group_type: "household" }))
        .status,
      201,
    );
    const p1 = { id: "P1", group_id: "G1", name: { given_name: "Ann", surname: "Lee" } };
    equal((await call("POST", "/registrants", p1)).status, 201);
    const again = await call("POST", "/registrants", p1);
    equal(again.status, 409);
    equal(again.body.message, `Refused: id: a registrant "P1" already exists`);
    const g1 = await call("GET", "/registrants/G1");
    equal(g1.status, 200);
    equal(JSON.stringify(g1.body.record).includes("P1"), true, "a group's record names its members");
    const patched = await call("PATCH", "/registrants/P1", { sex: "female" });
    equal(patched.status, 200);
    deepEqual([patched.body.id, (patched.body.record as Json).sex], ["P1", "female"]);
    equal((await call("PATCH", "/registrants/P9", { sex: "female" })).status, 404);
    deepEqual(((await call("GET", "/registrants?q=lee")).body.items as Json[]).map((i) => i.id), ["P1"]);
    // A cursor whose surname holds a NUL (PostgreSQL refuses one in text: that was a 500) starts from the beginning.
    const nulCursor = Buffer.from('["Le\\u0000",1]').toString("base64url");
    const fromStart = await call("GET", `/registrants?q=lee&after=${nulCursor}`);
    deepEqual([fromStart.status, (fromStart.body.items as Json[]).map((i) => i.id)], [200, ["P1"]]);
    const list = await call("GET", "/registries/social/registrants?counts=true&record_type=person");
    deepEqual([(list.body.items as Json[]).map((i) => i.id), list.body.counts], [["P1"], {
      person: 1,
      group: 1,
      deleted: 0,
    }]);
    equal((await call("DELETE", "/registrants/P1")).status, 200);
    equal((await call("GET", "/registrants/P1")).status, 404);
    equal((await call("DELETE", "/registrants/P1")).status, 404);
    const events = (await call("GET", "/registry/events")).body.events as Json[];
    deepEqual(events.map((e) => e.eventType), [
      "registration",
      "registration",
      "update",
      "delete",
    ]);
    const recent = await call("GET", "/registries/social/events?recent=true&limit=1");
    deepEqual((recent.body.events as Json[]).map((e) => e.eventType), ["delete"]);
  },
);

backendTest(
  "registry callers: the IBR store and the DR finder read and write through the store",
  async (s) => {
    const deps = registryDeps(s);
    const ibr = ibrStore(deps);
    for (const raw of ibrProfile.demo(0, 1)) deepEqual(await ibr.put(raw), { ok: true, created: true });
    const person = (await ibr.findByIdentifier({ value: "ABC451123" }, ["ibr_person", "nope"], 5))[0];
    equal(person?.recordType, "ibr_person");
    deepEqual(await ibr.findByIdentifier({ value: "ABC451123" }, ["ibr_group"], 5), []);
    equal((await ibr.getByExternalId(person.externalId, ["ibr_person"]))?.externalId, person.externalId);
    equal(await ibr.getByExternalId(person.externalId, ["ibr_group"]), undefined);
    const raw = [...ibrProfile.demo(0, 1)].find((r) => r.id === person.externalId)!;
    deepEqual(await ibr.put(raw), { ok: true, created: false });
    equal((await ibr.put({ ...raw, id: "X-1" })).ok, false, "an identifier another record holds is refused");

    const now = "2026-01-01T00:00:00.000Z";
    for (const r of drProfile.demo(2, 1)) {
      await s.registry.save(readRegistrant(r, now, undefined, drProfile), { mode: "upsert", now });
    }
    deepEqual((await storeFinder(deps, { type: "UIN", value: DR_TEST_UIN }, 5)).map((r) => r.externalId), [
      "DR-TEST-001",
    ]);
    deepEqual(await storeFinder(deps, { type: "NID", value: DR_TEST_UIN }, 5), []);
  },
);
