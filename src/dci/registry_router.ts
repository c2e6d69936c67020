/**
 * The registry endpoints, built once per registry type and mounted at `/dci_api/v1/{registry}/registry`,
 * at `/dci_api/v1/registry` and at the spec's short form `/registry` (both the default registry, `social`).
 */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../http/context.ts";
import type { Deps } from "../deps.ts";
import { validationHook } from "../http/errors.ts";

/** Registry types, each a path prefix. */
export const REGISTRIES = ["social", "crvs", "ibr", "fr", "dr"] as const;

/** A registry type. */
export type Registry = typeof REGISTRIES[number];

/** The registry served at the prefix-less paths. */
export const DEFAULT_REGISTRY: Registry = "social";

/** Adds one area's endpoints (search, async, subscriptions, ...) to a registry's router. */
export type RegistryRouteModule = (app: OpenAPIHono<AppEnv>, deps: Deps, registry: Registry) => void;

/** The router of one registry type, with each area module's endpoints. */
export function registryRoutes(
  deps: Deps,
  registry: Registry,
  modules: readonly RegistryRouteModule[],
): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  for (const add of modules) add(app, deps, registry);
  return app;
}

/** Every mount point and the registry it serves. */
export function registryMounts(): Array<{ prefix: string; registry: Registry }> {
  return [
    ...REGISTRIES.map((registry) => ({ prefix: `/dci_api/v1/${registry}/registry`, registry })),
    { prefix: "/dci_api/v1/registry", registry: DEFAULT_REGISTRY },
    { prefix: "/registry", registry: DEFAULT_REGISTRY },
  ];
}
