/**
 * The DR code lists (spdci-schemas extensions/dr/v1/code/*.jsonld), as this server reads and writes them.
 * A record carries a code's `rdfs:label` ("Approved", "Severe", as the DR yaml's examples do); input may give
 * the label or the code's id (`status:0`, `support:service_dog`) or a non-numeric id suffix (`service_dog`),
 * in any case, with `_`, `-` and spaces alike. Some files name an entry differently in `owl:oneOf` and in its
 * own `@id` (ImpairmentCause `case:2` / `category:2`, HousingSupportEnum `support:relocation` /
 * `assistance:relocation`): both are accepted. tests/registries/dr_codes_test.ts checks these lists against the
 * files, so a change there shows up here.
 */

/** One code: its ids (the `owl:oneOf` one first) and its label. */
export interface Code {
  ids: readonly string[];
  label: string;
}

/** A code list: its class name (the `rdfs:range` that names it) and its codes. */
export interface CodeList {
  name: string;
  /** The file under spdci-schemas, for docs and the drift test. */
  file: string;
  codes: readonly Code[];
}

function list(name: string, file: string, codes: Array<[string | string[], string]>): CodeList {
  return {
    name,
    file: `extensions/dr/v1/code/${file}.jsonld`,
    codes: codes.map(([ids, label]) => ({ ids: typeof ids === "string" ? [ids] : ids, label })),
  };
}

/** Every DR code list, by the range name the classes use. */
export const CODES = {
  DisabilityStatusEnum: list("DisabilityStatusEnum", "DisabilityStatusEnum", [
    ["status:0", "Approved"],
    ["status:1", "Pending"],
    ["status:2", "Expired"],
  ]),
  DisabilityLevelEnum: list("DisabilityLevelEnum", "DisabilityLevelEnum", [
    ["level:1", "High Support Needs (sometimes called very severe or profound)"],
    ["level:2", "Severe"],
    ["level:3", "Moderate"],
    ["level:4", "Mild"],
  ]),
  ImpairmentType: list("ImpairmentType", "ImpairementType", [
    ["type:1", "Vision"],
    ["type:2", "Hearing"],
    ["type:3", "Mobility"],
    ["type:4", "Cognitive"],
    ["type:5", "Speech"],
    ["type:6", "Mental"],
  ]),
  ImpairmentLevel: list("ImpairmentLevel", "ImpairmentLevel", [
    ["category:1", "Mild"],
    ["category:2", "Moderate"],
    ["category:3", "Severe"],
    ["category:4", "Extreme"],
  ]),
  ImpairmentCause: list("ImpairmentCause", "ImpairmentCause", [
    ["case:0", "Birth congenital"],
    ["case:1", "Birth complication"],
    [["case:2", "category:2"], "Illness"],
    [["case:3", "category:3"], "Domestic accident"],
    [["case:4", "category:4"], "Road accident"],
    [["case:5", "category:5"], "Work accident"],
    [["case:6", "category:6"], "Violence"],
    [["case:7", "category:7"], "Armed conflict"],
    [["case:8", "category:8"], "Ageing"],
  ]),
  DisabilityOnSet: list("DisabilityOnSet", "DisabilityOnSet", [
    ["case:0", "Born With"],
    ["case:1", "Childhood"],
    ["case:2", "Working age"],
    ["case:3", "Old age"],
  ]),
  HumanAssistanceType: list("HumanAssistanceType", "HumanAssistanceType", [
    ["assistance:basic_activity", "Basic Activity"],
    ["assistance:mobility", "mobility"],
    ["assistance:communication", "Communication"],
    ["assistance:decision_making", "Decision Making"],
    ["assistance:multiple", "Multiple"],
  ]),
  SupportFrequency: list("SupportFrequency", "SupportFrequency", [
    ["intensity:1", "Permanent"],
    ["intensity:2", "Daily"],
    ["intensity:3", "Weekly"],
    ["intensity:4", "Occasional"],
    ["intensity:5", "None"],
  ]),
  SupportStatusEnum: list("SupportStatusEnum", "SupportStatusEnum", [
    ["support:0", "Needed"],
    ["support:1", "Received"],
  ]),
  AssistiveTechnologyEnum: list("AssistiveTechnologyEnum", "AssistiveTechnologyEnum", [
    ["tech:1", "Wheelchairs"],
    ["tech:2", "Speech-generating devices (SGDs)"],
    ["tech:3", "Hearing aids"],
  ]),
  HousingSupportEnum: list("HousingSupportEnum", "HousingSupportEnum", [
    ["support:home_adaptation", "Home Adaptation"],
    [["support:relocation", "assistance:relocation"], "Relocation"],
    [["support:utility_cost", "assistance:utility_cost"], "Utility cost"],
  ]),
  MedicalCareEnum: list("MedicalCareEnum", "MedicalCareEnum", [
    ["support:maintenance_medicine", "Maintenance medicine"],
    ["support:specialized_habitation", "Specialized habitation"],
    ["support:constant_healthcare", "Constant healthcare"],
  ]),
  AnimalAssistanceEnum: list("AnimalAssistanceEnum", "AnimalAssistanceEnum", [
    ["support:service_dog", "Service Dog"],
    ["support:therapy_animal", "Therapy Animal"],
    ["support:other", "Other"],
  ]),
  TransportRequirement: list("TransportRequirement", "TransportRequirement", [
    ["requirement:0", "Public transportation"],
    ["requirement:1", "Point to point transportation"],
    ["requirement:2", "Adaptable vehical"],
  ]),
  HousingType: list("HousingType", "HousingType", [
    ["type:1", "Own home/rent"],
    ["type:2", "Living in relatives’ home"],
    ["type:3", "Social housing"],
    ["type:4", "Care institution"],
  ]),
} as const satisfies Record<string, CodeList>;

/** The comparison key of a code or label: lower case, `_`, `-` and runs of spaces as one space. */
function key(s: string): string {
  return s.trim().toLowerCase().replace(/[\s_-]+/g, " ");
}

function lookupOf(codes: CodeList): Map<string, string> {
  const map = new Map<string, string>();
  for (const c of codes.codes) {
    map.set(key(c.label), c.label);
    for (const id of c.ids) {
      map.set(key(id), c.label);
      const suffix = id.split(":").pop()!;
      // A numeric suffix ("2") means a different thing in each list: only the full id is accepted.
      if (!/^\d+$/.test(suffix)) map.set(key(suffix), c.label);
    }
  }
  return map;
}

/** Input key → label, per code list (built once: the lists are constants). */
const LOOKUP = new Map<CodeList, Map<string, string>>(Object.values(CODES).map((c) => [c, lookupOf(c)]));

/** The label of the code `raw` names in `codes`, or undefined when it names none (or is not a short string). */
export function codeLabel(codes: CodeList, raw: unknown): string | undefined {
  if (typeof raw !== "string" || raw.length > 128) return undefined;
  return (LOOKUP.get(codes) ?? lookupOf(codes)).get(key(raw));
}

/** The labels of a code list (zod enums, docs and error messages). */
export function labels(codes: CodeList): [string, ...string[]] {
  return codes.codes.map((c) => c.label) as [string, ...string[]];
}
