/**
 * A small registry profile for tests of the generic machinery (storage, import, search, events, subscriptions):
 * one person record type with one registry-specific list attribute (`skill`) and one event type (`Certified`).
 * Registered by the tests that use it (`registerProfile`), never by the server.
 */
import type { Json, RegistryProfile } from "../../src/registries/profile.ts";
import type { Registrant } from "../../src/registry/model.ts";

const KNOWN = new Set(["skills", "certified"]);

function skillsOf(reg: Registrant | undefined): string[] {
  const s = reg?.details?.skills;
  return Array.isArray(s) ? s.filter((x): x is string => typeof x === "string") : [];
}

/** The test registry `tst`: storage record type `tst_person`. */
export const testProfile: RegistryProfile = {
  name: "tst",
  title: "Test registry",
  regType: "ns:org:RegistryType:Test",
  regTypeAliases: ["test", "test_registry"],
  recordTypes: [{ storage: "tst_person", kind: "person", names: ["TestPerson", "person"] }],
  idTypes: ["UIN", "TST_ID"],
  attributes: [{
    name: "skill",
    aliases: ["skills"],
    kind: "text",
    on: ["tst_person"],
    values: (reg) => skillsOf(reg).map((s) => s.toLowerCase()),
    // Query values compare as stored: lower case.
    normalise: (raw) => typeof raw === "string" && raw.length <= 64 ? raw.trim().toLowerCase() : undefined,
    description: "a skill the person has (several per person)",
  }],
  eventTypes: [{
    names: ["Certified", "certification"],
    matches: (change, after, before) =>
      change !== "delete" && after.details?.certified === true && before?.details?.certified !== true,
  }],
  standardActions: ["search", "subscribe", "unsubscribe", "txn-status", "receipt"],
  actions: [],
  readDetails(raw, _recordType, errors) {
    const d = raw.details;
    if (d === undefined || d === null) return undefined;
    if (typeof d !== "object" || Array.isArray(d)) {
      errors.push("details: expected an object");
      return undefined;
    }
    const out: Json = {};
    for (const [k, v] of Object.entries(d as Json)) {
      if (!KNOWN.has(k)) errors.push(`details.${k.slice(0, 40)}: unknown field`);
      else if (k === "skills") {
        if (!Array.isArray(v) || v.length > 10 || v.some((x) => typeof x !== "string" || x.length > 64)) {
          errors.push("details.skills: expected at most 10 strings of at most 64 characters");
        } else out.skills = v.map((x) => String(x).trim());
      } else if (k === "certified") {
        // A CSV cell is text: "true" and "false" are read as the boolean.
        const b = v === "true" ? true : v === "false" ? false : v;
        if (typeof b !== "boolean") errors.push("details.certified: expected true or false");
        else out.certified = b;
      }
    }
    return out;
  },
  toRecord(reg, _recordType, ctx) {
    return {
      ...(ctx.withContext ? { "@context": { "@vocab": "https://example.org/test/v1/" } } : {}),
      "@type": "TestPerson",
      "@id": reg.externalId,
      identifier: reg.identifiers.map((i) => ({ identifier_type: i.type, identifier_value: i.value })),
      ...(Object.keys(reg.name).length ? { name: reg.name } : {}),
      ...(reg.birthDate ? { birth_date: reg.birthDate } : {}),
      skills: skillsOf(reg),
      certified: reg.details?.certified === true,
    };
  },
  importColumns: [
    { column: "skills", path: "details.skills[]", description: "skills separated by |" },
    { column: "certified", path: "details.certified", description: "true or false" },
  ],
  *demo(count, seed) {
    yield {
      id: "TST-TEST-001",
      identifier: [{ identifier_type: "TST_ID", identifier_value: "TST-TEST-001" }],
      name: { given_name: "Test", surname: "Person" },
      birth_date: "1990-01-01",
      details: { skills: ["welding"] },
    };
    for (let i = 1; i <= count; i++) {
      yield {
        id: `TST${seed}-${i}`,
        identifier: [{ identifier_type: "TST_ID", identifier_value: `TST${seed}-${i}` }],
        name: { given_name: `Given${i}`, surname: "Demo" },
        birth_date: `19${String(50 + (i % 50)).padStart(2, "0")}-01-01`,
        details: { skills: [i % 2 ? "carpentry" : "masonry"] },
      };
    }
  },
};
