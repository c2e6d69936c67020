/** The built-in registry types, each a path prefix (`/dci_api/v1/{registry}/registry`). */

/** Registry types. */
export const REGISTRIES = ["social", "crvs", "ibr", "fr", "dr"] as const;

/** A registry type. */
export type Registry = typeof REGISTRIES[number];
