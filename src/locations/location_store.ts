/** Where the place hierarchy is kept: the interface the services use, and its embedded SQLite implementation. */
import { type Db, readSnapshot } from "../db/sqlite.ts";
import type { Level, Place } from "./model.ts";
import {
  type Hierarchy,
  type HierarchyInfo,
  hierarchyInfo,
  listPlaces,
  loadHierarchy,
  placeWithPath,
  replaceHierarchy,
  type ReplaceOptions,
  type ReplaceResult,
} from "./store.ts";

/** A place with its ancestors (root first) and its number of children. */
export interface PlaceWithPath {
  place: Place;
  ancestors: Place[];
  children: number;
}

/** The place hierarchy (src/locations/store.ts): read whole, replaced whole. */
export interface LocationStore {
  /** The current hierarchy's version, origin and size; undefined when none was ever loaded. */
  info(): Promise<HierarchyInfo | undefined>;
  /** The whole hierarchy in document order, read from one snapshot (even while a replace runs). */
  load(): Promise<Hierarchy | undefined>;
  /**
   * Replaces the hierarchy with `places` (already checked: see checkHierarchy) in one transaction: on any failure
   * the previous hierarchy stays as it was. Replaces from several instances run one after the other.
   */
  replace(places: readonly Place[], options: ReplaceOptions): Promise<ReplaceResult>;
  /** One place with its ancestors and its number of children; undefined when unknown. */
  place(code: string): Promise<PlaceWithPath | undefined>;
  /** Places in document order, optionally only the children of `parent` (`""`: the roots) or of one level. */
  list(filter: { parent?: string; level?: Level; limit: number; offset: number }): Promise<Place[]>;
}

/** The place hierarchy in the embedded SQLite database. */
export function sqliteLocationStore(db: Db): LocationStore {
  return {
    info: () => Promise.try(() => hierarchyInfo(db)),
    load: () => Promise.try(() => loadHierarchy(db)),
    replace: (places, options) => Promise.try(() => replaceHierarchy(db, places, options)),
    // The place, its ancestors and its child count from one snapshot, even while an import replaces them.
    place: (code) => Promise.try(() => readSnapshot(db, () => placeWithPath(db, code))),
    list: (filter) => Promise.try(() => listPlaces(db, filter)),
  };
}
