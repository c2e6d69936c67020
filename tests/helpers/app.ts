/**
 * The server's app for in-process tests: `createApp(deps)` from src/app.ts with every answer on a DCI registry
 * path checked against the spec (tests/helpers/spec_hooks.ts). Tests import createApp from here, never from
 * src/app.ts (tests/conformance/spec_validation_test.ts holds them to it).
 */
import { createApp as createServerApp } from "../../src/app.ts";
import type { Deps } from "../../src/deps.ts";
import { specApp } from "./spec_hooks.ts";

/** The whole HTTP application, its DCI answers checked against the spec. */
export function createApp(deps: Deps): ReturnType<typeof createServerApp> {
  return specApp(createServerApp(deps));
}
