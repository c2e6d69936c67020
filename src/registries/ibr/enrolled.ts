/**
 * `POST …/ibr/registry/sync/enrolled`: "is this person enrolled in this programme?" A yes/no per query and
 * nothing else (data minimisation: no record, not even whether the person is known).
 *
 * Enrolled means: an enrolment in the programme (any programme when none is named) that stands, Active or
 * Suspended (a graduated or deceased beneficiary has left it); when the query names an enrollment_status, an
 * enrolment with exactly that status. `response_entity` Member looks at the person's own enrolments, Group at
 * the household's (found by its own identifier or through the member's household); without one, both.
 */
import type { ActionInput, ActionResult } from "../profile.ts";
import type { Registrant } from "../../registry/model.ts";
import { ENROLLMENT_STATUS } from "./codes.ts";
import { beneficiaryOf } from "./details.ts";
import { type EnrolledQuestion, readEnrolledQuery } from "./enrolled_query.ts";
import { answered, type IbrStore } from "./store.ts";
import { itemRef } from "./rejected.ts";
import type { z } from "@hono/zod-openapi";
import type { EnrolledCriteria, EnrolledRequest } from "./schemas.ts";

/** Enrolment statuses that count as enrolled when the query names none. */
const STANDING = new Set([ENROLLMENT_STATUS.labels[0], ENROLLMENT_STATUS.labels[3]]);
/** The most records one identifier may name (identifiers are unique per registry: one, in practice). */
const LOOKUP_LIMIT = 10;

type Criteria = z.output<typeof EnrolledCriteria>;

/** The answer to one EnrolledRequest. */
export async function answerEnrolled(store: IbrStore, input: ActionInput): Promise<ActionResult> {
  const message = input.message as z.output<typeof EnrolledRequest>;
  const list: Criteria[] = Array.isArray(message.enrolled_criteria)
    ? message.enrolled_criteria
    : [message.enrolled_criteria];
  const timestamp = new Date(input.now).toISOString();
  const items = await Promise.all(list.map(async (c, i) => {
    // The spec's criteria has no reference_id: its position from 1 names it, unless the caller gave one.
    const reference_id = itemRef(c, i);
    const answer = await answerOne(store, c);
    return answer.ok
      ? { reference_id, timestamp, status: "succ" as const, enrolled_status: answer.enrolled ? "yes" : "no" }
      : {
        reference_id,
        timestamp,
        status: "rjct" as const,
        status_reason_message: answer.reason,
        enrolled_status: "no",
      };
  }));
  return answered(message.transaction_id, input.correlationId, items);
}

type Answer = { ok: true; enrolled: boolean } | { ok: false; reason: string };

async function answerOne(store: IbrStore, c: Criteria): Promise<Answer> {
  const entity = c.response_entity?.split(":").pop()?.toLowerCase();
  if (entity !== undefined && !["member", "group", "beneficiary", "person"].includes(entity)) {
    return {
      ok: false,
      reason: `response_entity: ${JSON.stringify(c.response_entity)} is not Group or Member`,
    };
  }
  const parsed = readEnrolledQuery(c.query_type, c.query);
  if (!parsed.ok) return parsed;
  const records = await beneficiaries(store, parsed.question.person, entity);
  return { ok: true, enrolled: records.some((r) => isEnrolled(r, parsed.question)) };
}

/** The records whose enrolments answer for this person. */
async function beneficiaries(
  store: IbrStore,
  person: EnrolledQuestion["person"],
  entity?: string,
): Promise<Registrant[]> {
  const persons = entity === "group"
    ? []
    : await store.findByIdentifier(person, ["ibr_person"], LOOKUP_LIMIT);
  if (entity === "member" || entity === "person") return persons;
  const groups = await store.findByIdentifier(person, ["ibr_group"], LOOKUP_LIMIT);
  const members = entity === "group"
    ? await store.findByIdentifier(person, ["ibr_person"], LOOKUP_LIMIT)
    : persons;
  for (const m of members) {
    const household = m.groupRef ? await store.getByExternalId(m.groupRef, ["ibr_group"]) : undefined;
    if (household) groups.push(household);
  }
  return entity === "group" ? groups : [...persons, ...groups];
}

function isEnrolled(reg: Registrant, q: EnrolledQuestion): boolean {
  return (beneficiaryOf(reg.details).enrolments ?? []).some((e) =>
    (q.programme === undefined || e.programme_identifier === q.programme) &&
    (q.status === undefined ? STANDING.has(e.enrollment_status) : e.enrollment_status === q.status)
  );
}
