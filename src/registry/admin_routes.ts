/** Admin API for registrants (under /admin/v1): list, read, create, replace, patch, delete; each change is an event. */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../http/context.ts";
import type { Deps } from "../deps.ts";
import { transaction } from "../db/sqlite.ts";
import { DciError } from "../dci/errors.ts";
import { InputError, readRegistrant } from "./model.ts";
import {
  deleteRegistrant,
  fromRow,
  getRegistrant,
  groupMembers,
  REGISTRANT_SELECT,
  registrantCounts,
  saveRegistrant,
  type StoredRegistrant,
} from "./store.ts";
import { toDciRecord } from "../registries/social/mapping.ts";
import { listEventsAfter } from "./events.ts";
import { wakeNotifier } from "../subscriptions/notifier.ts";
import { stmt } from "../db/statements.ts";

const IdParam = z.object({
  id: z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/).openapi({ example: "DP1-00000001" }),
});
const Body = z.record(z.string(), z.unknown()).openapi("RegistrantInput", {
  description:
    "A DCI Person or Group record (identifier[], name{}, sex, birth_date, address[], phone_number[], " +
    "email[], group_id, relationship, attributes{}; groups: record_type 'group', group_identifier[], group_type, " +
    "group_size, poverty_score)",
});
const Registrant = z.record(z.string(), z.unknown()).openapi("Registrant");
const json = (schema: z.ZodType, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

function view(deps: Deps, reg: StoredRegistrant): Record<string, unknown> {
  const members = reg.recordType === "group" ? groupMembers(deps.db, reg.id) : undefined;
  return {
    id: reg.externalId,
    record_type: reg.recordType,
    deleted_at: reg.deletedAt ?? null,
    group_id: reg.groupRef ?? null,
    relationship: reg.relationship ?? null,
    attributes: reg.attributes,
    record: toDciRecord(reg, members),
  };
}

function input(raw: unknown, now: string, id?: string) {
  try {
    const body = id === undefined ? raw : { ...(raw as Record<string, unknown>), id };
    return readRegistrant(body, now);
  } catch (e) {
    if (e instanceof InputError) throw new DciError("err.request.bad", `Invalid registrant: ${e.message}`);
    throw e;
  }
}

function write<T>(deps: Deps, fn: () => T): T {
  try {
    return transaction(deps.db, fn);
  } catch (e) {
    if (e instanceof InputError) {
      throw new DciError("err.request.bad", `Refused: ${e.message}`, { status: 409 });
    }
    throw e;
  }
}

function mustGet(deps: Deps, id: string): StoredRegistrant {
  const reg = getRegistrant(deps.db, id);
  if (!reg || reg.deletedAt) throw new DciError("err.request.not_found", `No registrant "${id}"`);
  return reg;
}

/** Registers the registrant admin routes. */
export function registrantAdminRoutes(app: OpenAPIHono<AppEnv>, deps: Deps): void {
  const tags = ["registrants"];
  app.openapi(
    createRoute({
      method: "get",
      path: "/registrants",
      tags,
      summary: "List registrants (newest first)",
      request: {
        query: z.object({
          record_type: z.enum(["person", "group"]).optional(),
          limit: z.coerce.number().int().min(1).max(500).default(50),
          before: z.coerce.number().int().min(1).optional().openapi({ description: "cursor: row id" }),
        }),
      },
      responses: { 200: json(z.record(z.string(), z.unknown()), "A page of registrants and the counts") },
    }),
    (c) => {
      const q = c.req.valid("query");
      const rows = stmt(
        deps.db,
        `${REGISTRANT_SELECT} WHERE r.deleted_at IS NULL
         AND (? IS NULL OR r.record_type = ?) AND r.id < ? ORDER BY r.id DESC LIMIT ?+0`,
      ).all(
        q.record_type ?? null,
        q.record_type ?? null,
        q.before ?? Number.MAX_SAFE_INTEGER,
        q.limit,
      ) as Array<
        { id: number; data: string; deleted_at: null }
      >;
      const items = rows.map((r) => view(deps, fromRow(r)));
      const next = rows.length === q.limit ? Number(rows[rows.length - 1].id) : null;
      return c.json({ counts: registrantCounts(deps.db), items, next_before: next }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/registrants/{id}",
      tags,
      summary: "One registrant and its DCI record",
      request: { params: IdParam },
      responses: { 200: json(Registrant, "The registrant") },
    }),
    (c) => c.json(view(deps, mustGet(deps, c.req.valid("param").id)), 200),
  );
  app.openapi(
    createRoute({
      method: "post",
      path: "/registrants",
      tags,
      summary: "Register a person or group",
      request: { body: { content: { "application/json": { schema: Body } }, required: true } },
      responses: { 201: json(Registrant, "Created") },
    }),
    (c) => {
      const now = new Date(deps.clock.now()).toISOString();
      const reg = input(c.req.valid("json"), now);
      write(deps, () => saveRegistrant(deps.db, reg, { mode: "create", now }));
      wakeNotifier(deps);
      return c.json(view(deps, mustGet(deps, reg.externalId)), 201);
    },
  );
  app.openapi(
    createRoute({
      method: "put",
      path: "/registrants/{id}",
      tags,
      summary: "Replace a registrant (creates it when absent)",
      request: {
        params: IdParam,
        body: { content: { "application/json": { schema: Body } }, required: true },
      },
      responses: { 200: json(Registrant, "Replaced or created") },
    }),
    (c) => {
      const now = new Date(deps.clock.now()).toISOString();
      const reg = input(c.req.valid("json"), now, c.req.valid("param").id);
      write(deps, () => saveRegistrant(deps.db, reg, { mode: "upsert", now }));
      wakeNotifier(deps);
      return c.json(view(deps, mustGet(deps, reg.externalId)), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "patch",
      path: "/registrants/{id}",
      tags,
      summary: "Change some fields (top-level merge over the stored record)",
      request: {
        params: IdParam,
        body: { content: { "application/json": { schema: Body } }, required: true },
      },
      responses: { 200: json(Registrant, "Updated") },
    }),
    (c) => {
      const id = c.req.valid("param").id;
      const now = new Date(deps.clock.now()).toISOString();
      const reg = write(deps, () => {
        const current = mustGet(deps, id);
        const merged = input({ ...asInput(current), ...c.req.valid("json") }, now, id);
        merged.registrationDate = current.registrationDate;
        saveRegistrant(deps.db, merged, { mode: "upsert", now });
        return merged;
      });
      wakeNotifier(deps);
      return c.json(view(deps, mustGet(deps, reg.externalId)), 200);
    },
  );
  app.openapi(
    createRoute({
      method: "delete",
      path: "/registrants/{id}",
      tags,
      summary: "Delete a registrant (kept for subscriptions, hidden from search)",
      request: { params: IdParam },
      responses: { 200: json(Registrant, "Deleted") },
    }),
    (c) => {
      const id = c.req.valid("param").id;
      const now = new Date(deps.clock.now()).toISOString();
      const gone = write(deps, () => deleteRegistrant(deps.db, id, { now }));
      wakeNotifier(deps);
      if (!gone) throw new DciError("err.request.not_found", `No registrant "${id}"`);
      return c.json({ id, deleted_at: gone.deletedAt }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/registry/events",
      tags,
      summary: "Registry change events after a cursor",
      request: {
        query: z.object({
          after: z.coerce.number().int().min(0).default(0),
          limit: z.coerce.number().int().min(1).max(1000).default(100),
        }),
      },
      responses: { 200: json(z.record(z.string(), z.unknown()), "Events, oldest first") },
    }),
    (c) => {
      const q = c.req.valid("query");
      const events = listEventsAfter(deps.db, q.after, { limit: q.limit }).map(({ registrant: _r, ...e }) =>
        e
      );
      return c.json({ events, next_after: events.at(-1)?.id ?? q.after }, 200);
    },
  );
}

/** The stored registrant in the input shape, so a PATCH can merge over it. */
function asInput(r: StoredRegistrant): Record<string, unknown> {
  return {
    record_type: r.recordType,
    identifier: r.identifiers.map((i) => ({ identifier_type: i.type, identifier_value: i.value })),
    name: r.name,
    sex: r.sex,
    birth_date: r.birthDate,
    death_date: r.deathDate,
    address: r.addresses,
    phone_number: r.phones,
    email: r.emails,
    group_id: r.groupRef,
    relationship: r.relationship,
    group_type: r.groupType,
    group_size: r.groupSize,
    poverty_score: r.povertyScore,
    poverty_score_type: r.povertyScoreType,
    registration_date: r.registrationDate,
    attributes: r.attributes,
  };
}
