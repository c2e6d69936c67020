/**
 * A subscription filter's `age` is counted at the event's day, as a search made then would have counted it: an
 * event fanned out after midnight (a backlog, a worker restarted the next morning) is judged as the record was at
 * the event (src/subscriptions/filter_eval.ts), on both backends.
 */
import { deepEqual } from "node:assert/strict";
import { backendTest } from "../helpers/storage.ts";
import { event, options, person, registrant, subscribe } from "../helpers/fanout_fixture.ts";

const age = (operator: string) =>
  JSON.stringify([{ seq_num: 1, expression1: { attribute_name: "age", operator, attribute_value: 18 } }]);

backendTest(
  "fan-out: an age filter is judged at the event's day, not the day the event is fanned out",
  async (s, sql) => {
    const adult = await subscribe(s, { filter_type: "predicate", filter: age("ge") });
    const minor = await subscribe(s, { filter_type: "predicate", filter: age("lt") });
    const a = await registrant(sql, "a");
    // 18 on 15 March 2026: registered a few seconds before that midnight, fanned out the morning after.
    const late = await event(
      sql,
      a,
      "registration",
      person("a", { birthDate: "2008-03-15" }),
      "2026-03-14T23:59:50.000Z",
    );
    const next = await event(
      sql,
      a,
      "registration",
      person("a", { birthDate: "2008-03-15" }),
      "2026-03-15T00:00:10.000Z",
    );
    const cache = new Map();
    deepEqual(await s.fanOut.batch(options({ now: "2026-03-15T08:00:00.000Z", cache })), {
      events: 2,
      logged: 2,
    });
    const rows = await sql("SELECT subscription_id, event_id FROM notifications ORDER BY id");
    deepEqual(rows.map((r) => [Number(r.subscription_id), Number(r.event_id)]), [[minor, late], [
      adult,
      next,
    ]]);
  },
);
