/**
 * The DCI locations API (spdci-standards src/locations/locations_core_api_v1.0.0.yaml): GET
 * /.well-known/locations.json, the whole place hierarchy as a `LocationHierarchy`; and its admin read
 * (GET /admin/v1/locations, /admin/v1/locations/{code}).
 */
import { PUBLIC_SECURITY } from "../system/openapi_security.ts";
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../http/context.ts";
import type { Deps } from "../deps.ts";
import { validationHook } from "../http/errors.ts";
import { DciError } from "../dci/errors.ts";
import { LEVELS, type Place as StoredPlace } from "./model.ts";
import { locationsDocument, placeDocument } from "./document.ts";
import type { Hierarchy } from "./store.ts";
import { precompress, type Precompressed, sendPrecompressed } from "../http/precompressed.ts";

const PropertyValue = z.object({
  "@type": z.literal("PropertyValue"),
  name: z.string().openapi({ description: "The identifier's name: `region_code` for the place's own code" }),
  identifier: z.string(),
}).openapi("PropertyValue");

const Place = z.object({
  "@type": z.literal("Place"),
  id: z.string().openapi({ description: "The place code (the spec requires `id` without defining it)" }),
  identifier: z.array(PropertyValue).openapi({
    description: "The place code (named after its level: country_code, region_code, sub_region_code, " +
      "locality_code), then any other identifiers it was imported with",
  }),
  name: z.string().openapi({ example: "Central Region" }),
  additional_type: z.enum(LEVELS).openapi({ description: "The place's level in the hierarchy" }),
  contained_in_place: z.string().nullable().openapi({ description: "The parent's code; null for a root" }),
  containedInPlace: z.string().nullable().openapi({
    description: "Same as contained_in_place (the spec requires this spelling without defining it)",
  }),
}).openapi("Place");

const LocationHierarchy = z.object({
  "@context": z.object({ "@context": z.string(), xsd: z.string(), schema: z.string() }),
  "@type": z.literal("LocationHierarchy"),
  last_updated: z.string().openapi({ description: "When the hierarchy was last imported or seeded" }),
  locations: z.array(Place).openapi({ description: "Every place, parents before their children" }),
}).openapi("LocationHierarchy");

const HttpError = z.object({
  errors: z.array(z.object({ code: z.string(), message: z.string() })),
}).openapi("HttpErrorResponse");

const json = (schema: z.ZodType, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

const wellKnown = (path: string) =>
  createRoute({
    method: "get",
    path,
    tags: ["Locations"],
    security: PUBLIC_SECURITY,
    summary: "The place hierarchy (DCI locations API): countries, regions, sub-regions, localities",
    description: "The codes in records' addresses (country_code, region_code, sub_region_code; locality by " +
      "name under its region) are the places listed here. Public, cacheable; answers 304 to a matching " +
      "If-None-Match.",
    responses: {
      200: json(LocationHierarchy, "The hierarchy"),
      304: { description: "Not modified since the ETag sent" },
      404: json(HttpError, "No hierarchy was imported or seeded"),
      500: json(HttpError, "The hierarchy could not be read"),
    },
  });

/** The served document of one hierarchy version: JSON bytes and their gzip, made once per version. */
interface Served extends Precompressed {
  version: number;
  etag: string;
}

async function serve(h: Hierarchy): Promise<Served> {
  // Weak: the same version is sent in two encodings.
  const etag = `W/"locations-${h.info.version}-${Date.parse(h.info.updatedAt).toString(36)}"`;
  return { version: h.info.version, etag, ...await precompress(locationsDocument(h)) };
}

/** If-None-Match (weak comparison, RFC 9110 13.1.2) holds `etag` or `*`. */
function notModified(header: string | undefined, etag: string): boolean {
  const bare = (t: string) => t.trim().replace(/^W\//, "");
  return header?.split(",").some((t) => t.trim() === "*" || bare(t) === bare(etag)) ?? false;
}

/** GET /.well-known/locations.json (also under /dci_api/v1, as the JWKS is). */
export function locationsRoutes(deps: Deps): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  // The document of the newest version this isolate has read. A replace (by any process) bumps the version in
  // the database, so a request costs one point read until the hierarchy changes; the body (up to ~30 MB for the
  // largest hierarchy) is loaded, serialised and compressed once per version, not per request: the entry is cached
  // before the load starts, so requests arriving while it runs wait for that one load.
  let cached: { version: number; served: Promise<Served | undefined> } | undefined;
  const current = async () => {
    const info = await deps.storage.locations.info();
    if (!info) return undefined;
    if (cached?.version !== info.version) {
      const entry = {
        version: info.version,
        served: deps.storage.locations.load().then((h) => h ? serve(h) : undefined),
      };
      cached = entry;
      // A failed or empty load is not kept: the next request reads again.
      const forget = () => cached === entry && (cached = undefined);
      entry.served.then((doc) => doc ?? forget(), forget);
    }
    return await cached.served;
  };
  const httpError = (code: string, message: string) => ({ errors: [{ code, message }] });
  for (const path of ["/.well-known/locations.json", "/dci_api/v1/.well-known/locations.json"]) {
    app.openapi(wellKnown(path), async (c) => {
      let doc;
      try {
        doc = await current();
      } catch (err) {
        c.get("log")?.error("locations.json could not be read", { err });
        const id = c.get("requestId") ?? "unknown";
        return c.json(httpError("err.service.unavailable", `Internal error; quote request id ${id}`), 500);
      }
      if (!doc) {
        return c.json(
          httpError(
            "err.request.not_found",
            "No location hierarchy: `dci-server registry import-locations FILE`",
          ),
          404,
        );
      }
      c.header("Cache-Control", "public, max-age=300");
      c.header("ETag", doc.etag);
      if (notModified(c.req.header("if-none-match"), doc.etag)) {
        c.header("Vary", "Accept-Encoding");
        return c.body(null, 304);
      }
      return sendPrecompressed(c, doc) as never;
    });
  }
  return app;
}

const AdminPlace = z.object({
  code: z.string(),
  name: z.string(),
  level: z.enum(LEVELS),
  parent_code: z.string().nullable(),
  identifiers: z.array(z.object({ name: z.string(), identifier: z.string() })),
}).openapi("AdminPlace");
const Code = z.string().regex(/^(?!\.\.?$)[A-Za-z0-9._:-]{1,64}$/).openapi({ example: "central_region" });

const list = createRoute({
  method: "get",
  path: "/locations",
  tags: ["Admin"],
  summary: "The place hierarchy: its origin and version, and a page of places in document order",
  request: {
    query: z.object({
      parent: z.union([z.literal(""), Code]).optional().openapi({
        description: "Only the children of this place (empty: only the roots)",
      }),
      level: z.enum(LEVELS).optional(),
      limit: z.coerce.number().int().min(1).max(1000).default(100),
      offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
    }),
  },
  responses: {
    200: json(
      z.object({
        hierarchy: z.object({
          version: z.number(),
          source: z.string(),
          updated_at: z.string(),
          places: z.number(),
        }).nullable(),
        items: z.array(AdminPlace),
      }),
      "A page of places",
    ),
  },
});

const show = createRoute({
  method: "get",
  path: "/locations/{code}",
  tags: ["Admin"],
  summary: "One place, its ancestors (root first), its number of children and its locations.json entry",
  request: { params: z.object({ code: Code }) },
  responses: {
    200: json(
      z.object({
        place: AdminPlace,
        ancestors: z.array(AdminPlace),
        children: z.number(),
        document: Place,
      }),
      "The place",
    ),
  },
});

function adminPlace(p: StoredPlace) {
  return { code: p.code, name: p.name, level: p.level, parent_code: p.parent, identifiers: p.identifiers };
}

/** Adds the admin read of the place hierarchy (paths under /admin/v1). */
export function locationsAdminRoutes(app: OpenAPIHono<AppEnv>, deps: Deps): void {
  app.openapi(list, async (c) => {
    const q = c.req.valid("query");
    const info = await deps.storage.locations.info();
    const items = (await deps.storage.locations.list(q)).map(adminPlace);
    const hierarchy = info &&
      { version: info.version, source: info.source, updated_at: info.updatedAt, places: info.places };
    return c.json({ hierarchy: hierarchy ?? null, items }, 200);
  });
  app.openapi(show, async (c) => {
    const code = c.req.valid("param").code;
    const found = await deps.storage.locations.place(code);
    if (!found) throw new DciError("err.request.not_found", `No place "${code}"`);
    return c.json({
      place: adminPlace(found.place),
      ancestors: found.ancestors.map(adminPlace),
      children: found.children,
      document: placeDocument(found.place) as z.infer<typeof Place>,
    }, 200);
  });
}
