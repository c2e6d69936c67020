/**
 * Admin API for registrants (under /admin/v1): list, read, create, replace, patch, delete; each change is an
 * event of the registrant's registry. Every registry has `/registries/{registry}/registrants…`; the paths
 * without a registry (`/registrants…`) are the social registry's, as before issue 13.
 */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../http/context.ts";
import type { Deps } from "../deps.ts";
import { DciError } from "../dci/errors.ts";
import { InputError, mergeInput, readRegistrant, type Registrant } from "./model.ts";
import { sameRecord, type StoredRegistrant } from "./store.ts";
import { viewedRecordOf } from "../registries/records.ts";
import { servedProfiles } from "./startup.ts";
import type { RegistryProfile } from "../registries/profile.ts";
import { wakeNotifier } from "../subscriptions/notifier.ts";
import { BrowseTooBroad, MAX_BROWSE_QUERY } from "./browse.ts";
import { BudgetExceeded } from "../db/budget.ts";

const ID = z.string().regex(/^(?!\.\.?$)[A-Za-z0-9._:-]{1,64}$/).openapi({ example: "DP1-00000001" });
const REGISTRY = z.string().regex(/^[a-z][a-z0-9_]{0,39}$/).openapi({ example: "crvs" });
const IdParam = z.object({ id: ID });
const RegistryParam = z.object({ registry: REGISTRY });
const RegistryIdParam = z.object({ registry: REGISTRY, id: ID });
const Body = z.record(z.string(), z.unknown()).openapi("RegistrantInput", {
  description:
    "A DCI Person or Group record (identifier[], name{}, sex, birth_date, address[], phone_number[], " +
    "email[], group_id, relationship, attributes{}; groups: record_type 'group', group_identifier[], group_type, " +
    "group_size, poverty_score) and, for a registry other than social, its registry-specific details{}",
});
const Registrant = z.record(z.string(), z.unknown()).openapi("Registrant");
const json = (schema: z.ZodType, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

async function view(deps: Deps, reg: StoredRegistrant): Promise<Record<string, unknown>> {
  return {
    id: reg.externalId,
    record_type: reg.recordType,
    deleted_at: reg.deletedAt ?? null,
    group_id: reg.groupRef ?? null,
    relationship: reg.relationship ?? null,
    attributes: reg.attributes,
    ...(reg.details ? { details: reg.details } : {}),
    record: await viewedRecordOf(deps.storage.registry, reg),
  };
}

function input(profile: RegistryProfile, raw: unknown, now: string, id?: string) {
  try {
    const body = id === undefined ? raw : { ...(raw as Record<string, unknown>), id };
    return readRegistrant(body, now, undefined, profile);
  } catch (e) {
    if (e instanceof InputError) throw new DciError("err.request.bad", `Invalid registrant: ${e.message}`);
    throw e;
  }
}

/** A write of the registry store, its conflicts (InputError) answered 409. */
async function write<T>(pending: Promise<T>): Promise<T> {
  try {
    return await pending;
  } catch (e) {
    if (e instanceof InputError) {
      throw new DciError("err.request.bad", `Refused: ${e.message}`, { status: 409 });
    }
    throw e;
  }
}

async function mustGet(deps: Deps, profile: RegistryProfile, id: string): Promise<StoredRegistrant> {
  const reg = await deps.storage.registry.get(id, profile.name);
  if (!reg || reg.deletedAt) throw new DciError("err.request.not_found", `No registrant "${id}"`);
  return reg;
}

/**
 * The registry a request names (`/registries/{registry}/…`), or social (the paths without one); one this server does
 * not serve (DCI_REGISTRIES) answers 404, as all its other paths do.
 */
function registryOf(deps: Deps, param: { registry?: string } | { id: string }): RegistryProfile {
  const name = "registry" in param && param.registry !== undefined ? param.registry : "social";
  const profile = servedProfiles(deps).find((p) => p.name === name);
  if (!profile) throw new DciError("err.request.not_found", `No registry "${name}" is served here`);
  return profile;
}

/** Registers the registrant admin routes: per registry, and social's without the registry in the path. */
export function registrantAdminRoutes(app: OpenAPIHono<AppEnv>, deps: Deps): void {
  const tags = ["registrants"];
  for (const scoped of [true, false]) {
    const base = scoped ? "/registries/{registry}/registrants" : "/registrants";
    const one = `${base}/{id}`;
    const oneParams = scoped ? RegistryIdParam : IdParam;
    const listParams = scoped ? RegistryParam : z.object({});
    const of = scoped ? "" : " (social registry)";
    app.openapi(
      createRoute({
        method: "get",
        path: base,
        tags,
        summary: `List registrants (newest first)${of}`,
        request: {
          params: listParams,
          query: z.object({
            record_type: z.string().regex(/^[a-z][a-z0-9_]{0,39}$/).optional().openapi({
              description: "storage record type: person, group (social), crvs_person, fr_group, ...",
            }),
            limit: z.coerce.number().int().min(1).max(500).default(50),
            before: z.coerce.number().int().min(1).optional().openapi({ description: "cursor: row id" }),
            q: z.string().min(1).max(MAX_BROWSE_QUERY).optional().openapi({
              description: "search: the id or an identifier value exactly, or a family name prefix " +
                '("Given Surname": both prefixes); answers items and next_after',
            }),
            after: z.string().max(400).optional().openapi({
              description: "cursor of a q search: next_after",
            }),
            // Off by default (issue 15): the counts read an index entry per record (~0.1 s a million), a page
            // need not. The CLI's `registry stats` and this opt-in give them; this one within the search budget.
            counts: z.enum(["true", "false"]).default("false").openapi({
              description: "true: add the registry's counts per record type (they read an index entry per " +
                "record, within DCI_SEARCH_BUDGET_MS: a registry too large for it is answered 400 naming " +
                "`registry stats`, the CLI's count)",
            }),
          }),
        },
        responses: { 200: json(z.record(z.string(), z.unknown()), "A page of registrants and the counts") },
      }),
      async (c) => {
        const profile = registryOf(deps, c.req.valid("param"));
        const q = c.req.valid("query");
        const store = deps.storage.registry;
        if (q.q !== undefined) {
          const page = await store.browse(profile, q.q, {
            after: q.after,
            limit: q.limit,
            budgetMs: deps.config.searchBudgetMs,
          }).catch((err) => {
            if (err instanceof BrowseTooBroad) throw new DciError("err.request.bad", err.message);
            throw err;
          });
          return c.json({ items: await views(deps, page.items), next_after: page.next_after }, 200);
        }
        const rows = await store.list(profile.name, {
          recordType: q.record_type,
          before: q.before,
          limit: q.limit,
        });
        const items = await views(deps, rows);
        const next = rows.length === q.limit ? rows[rows.length - 1].id : null;
        const counts = q.counts === "true"
          ? await store.counts(profile.name, deps.config.searchBudgetMs).catch((err) => {
            if (!(err instanceof BudgetExceeded)) throw err;
            throw new DciError(
              "err.request.bad",
              `The counts read an index entry per record, and ${profile.name} holds more than ` +
                `DCI_SEARCH_BUDGET_MS (${err.budgetMs} ms) lets a request read: ` +
                `\`dci-server registry stats --registry ${profile.name}\` counts them`,
            );
          })
          : undefined;
        return c.json({ ...(counts ? { counts } : {}), items, next_before: next }, 200);
      },
    );
    app.openapi(
      createRoute({
        method: "get",
        path: one,
        tags,
        summary: `One registrant and its DCI record${of}`,
        request: { params: oneParams },
        responses: { 200: json(Registrant, "The registrant") },
      }),
      async (c) => {
        const p = c.req.valid("param");
        return c.json(await view(deps, await mustGet(deps, registryOf(deps, p), p.id)), 200);
      },
    );
    app.openapi(
      createRoute({
        method: "post",
        path: base,
        tags,
        summary: `Register a person or group${of}`,
        request: {
          params: listParams,
          body: { content: { "application/json": { schema: Body } }, required: true },
        },
        responses: { 201: json(Registrant, "Created") },
      }),
      async (c) => {
        const profile = registryOf(deps, c.req.valid("param"));
        const now = new Date(deps.clock.now()).toISOString();
        const reg = input(profile, c.req.valid("json"), now);
        await write(deps.storage.registry.save(reg, { mode: "create", now }));
        wakeNotifier(deps);
        return c.json(await view(deps, await mustGet(deps, profile, reg.externalId)), 201);
      },
    );
    app.openapi(
      createRoute({
        method: "put",
        path: one,
        tags,
        summary: `Replace a registrant (creates it when absent)${of}`,
        request: {
          params: oneParams,
          body: { content: { "application/json": { schema: Body } }, required: true },
        },
        responses: { 200: json(Registrant, "Replaced or created") },
      }),
      async (c) => {
        const p = c.req.valid("param");
        const profile = registryOf(deps, p);
        const now = new Date(deps.clock.now()).toISOString();
        const reg = input(profile, c.req.valid("json"), now, p.id);
        await write(deps.storage.registry.save(reg, { mode: "upsert", now }));
        wakeNotifier(deps);
        return c.json(await view(deps, await mustGet(deps, profile, reg.externalId)), 200);
      },
    );
    app.openapi(
      createRoute({
        method: "patch",
        path: one,
        tags,
        summary: `Change some fields (top-level merge over the stored record)${of}`,
        request: {
          params: oneParams,
          body: { content: { "application/json": { schema: Body } }, required: true },
        },
        responses: { 200: json(Registrant, "Updated") },
      }),
      async (c) => {
        const p = c.req.valid("param");
        const profile = registryOf(deps, p);
        const now = new Date(deps.clock.now()).toISOString();
        if (!await patchOne(deps, profile, p.id, c.req.valid("json"), now)) {
          throw new DciError("err.request.not_found", `No registrant "${p.id}"`);
        }
        return c.json(await view(deps, await mustGet(deps, profile, p.id)), 200);
      },
    );
    app.openapi(
      createRoute({
        method: "delete",
        path: one,
        tags,
        summary: `Delete a registrant (kept for subscriptions, hidden from search)${of}`,
        request: { params: oneParams },
        responses: { 200: json(Registrant, "Deleted") },
      }),
      async (c) => {
        const p = c.req.valid("param");
        const profile = registryOf(deps, p);
        const now = new Date(deps.clock.now()).toISOString();
        const gone = await write(deps.storage.registry.delete(p.id, { now, registry: profile.name }));
        wakeNotifier(deps);
        if (!gone) throw new DciError("err.request.not_found", `No registrant "${p.id}"`);
        return c.json({ id: p.id, deleted_at: gone.deletedAt }, 200);
      },
    );
  }
  for (const scoped of [true, false]) {
    app.openapi(
      createRoute({
        method: "get",
        path: scoped ? "/registries/{registry}/events" : "/registry/events",
        tags,
        summary: scoped
          ? "A registry's change events after a cursor"
          : "Registry change events (all registries)",
        request: {
          params: scoped ? RegistryParam : z.object({}),
          query: z.object({
            after: z.coerce.number().int().min(0).default(0),
            limit: z.coerce.number().int().min(1).max(1000).default(100),
            ...(scoped
              ? {
                recent: z.enum(["true", "false"]).default("false").openapi({
                  description: "newest first, paged by `before` (answers next_before) instead of `after`",
                }),
                before: z.coerce.number().int().min(1).optional(),
              }
              : {}),
          }),
        },
        responses: {
          200: json(z.record(z.string(), z.unknown()), "Events, oldest first (or newest: recent)"),
        },
      }),
      async (c) => {
        const param = c.req.valid("param") as { registry?: string };
        const registry = param.registry === undefined ? undefined : registryOf(deps, param).name;
        const q = c.req.valid("query") as { after: number; limit: number; recent?: string; before?: number };
        if (registry !== undefined && q.recent === "true") {
          const events =
            (await deps.storage.registry.recentEvents(registry, { beforeId: q.before, limit: q.limit }))
              .map(({ registrant: _r, ...e }) => e);
          const next = events.length === q.limit ? events[events.length - 1].id : null;
          return c.json({ events, next_before: next }, 200);
        }
        const events = (await deps.storage.registry.eventsAfter(q.after, { limit: q.limit, registry }))
          .map(({ registrant: _r, ...e }) => e);
        return c.json({ events, next_after: events.at(-1)?.id ?? q.after }, 200);
      },
    );
  }
}

/** Views of several registrants, in order. */
function views(deps: Deps, regs: StoredRegistrant[]): Promise<Array<Record<string, unknown>>> {
  return Promise.all(regs.map((r) => view(deps, r)));
}

/** Thrown inside a PATCH's transaction when the merge changes nothing: it ends there, writing nothing. */
class Unchanged extends Error {}

/**
 * Saves `body` merged over the live registrant `id` (a PATCH; the body in any form a POST takes) with its event;
 * writes nothing, and no event, when that changes nothing. False when there is no live registrant `id`.
 */
async function patchOne(
  deps: Deps,
  profile: RegistryProfile,
  id: string,
  body: Record<string, unknown>,
  now: string,
): Promise<boolean> {
  try {
    const saved = await write(deps.storage.registry.patch(profile.name, id, (current) => {
      const merged = input(profile, mergeInput(asInput(current), body), now, id);
      merged.registrationDate = current.registrationDate;
      if (sameRecord(merged, current)) throw new Unchanged();
      return merged;
    }, now));
    if (saved) wakeNotifier(deps);
    return saved !== undefined;
  } catch (e) {
    if (e instanceof Unchanged) return true;
    throw e;
  }
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
    details: r.details,
  };
}
