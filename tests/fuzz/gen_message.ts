/**
 * Generators of malformed messages that pass authentication (valid token, valid signature over the broken
 * content): envelopes, queries, sizes and encodings. Each returns a FuzzCase.
 */
import {
  envelopeText,
  type FuzzCase,
  type FuzzContext,
  jsonHeaders,
  pickEndpoint,
  trySign,
  validEnvelope,
} from "./cases.ts";
import { deepNest, deepNestText, junk, NASTY_NUMBERS, NASTY_STRINGS, type Rng } from "./prng.ts";

type Obj = Record<string, unknown>;

const HEADER_FIELDS = [
  "version",
  "message_id",
  "message_ts",
  "action",
  "sender_id",
  "sender_uri",
  "receiver_id",
  "total_count",
  "is_msg_encrypted",
  "meta",
];

const BAD_DATES = [
  "",
  "yesterday",
  "2026-13-45T99:99:99Z",
  "2026-02-30T25:61:61Z",
  "0000-00-00T00:00:00Z",
  "9999-12-31T23:59:59.999999999Z",
  "1970-01-01T00:00:00+99:99",
  "2026-01-01T00:00:00",
  "2026-01-01",
  "-002026-01-01T00:00:00Z",
  "2026-01-01T00:00:00.123456789012345678901234567890Z",
  "１９７０-01-01T00:00:00Z",
];

/** One mutation of a valid envelope in place; returns its description. */
function mutate(r: Rng, header: Obj, message: Obj): string {
  const field = r.pick(HEADER_FIELDS);
  const mkey = r.pick(Object.keys(message));
  switch (r.int(14)) {
    case 0:
      delete header[field];
      return `header.${field} missing`;
    case 1:
      header[field] = junk(r);
      return `header.${field} = junk`;
    case 2:
      delete message[mkey];
      return `message.${mkey} missing`;
    case 3:
      message[mkey] = junk(r);
      return `message.${mkey} = junk`;
    case 4:
      for (let i = r.int(20) + 1; i > 0; i--) header[`x_${r.pick(NASTY_STRINGS).slice(0, 20)}${i}`] = junk(r);
      Object.defineProperty(message, r.pick(NASTY_STRINGS).slice(0, 30), {
        value: junk(r),
        enumerable: true,
        writable: true,
        configurable: true,
      });
      return "extra fields";
    case 5: {
      const depth = r.pick([50, 500, 3000]);
      (r.chance(0.5) ? header : message)[r.chance(0.5) ? "meta" : mkey] = deepNest(r, depth);
      return `deep nesting ${depth}`;
    }
    case 6: {
      const list = Object.keys(message).find((k) => Array.isArray(message[k])) ?? "search_request";
      const n = r.pick([11, 100, 1000, 3000]);
      const item = Array.isArray(message[list]) ? (message[list] as unknown[])[0] : {};
      message[list] = Array.from({ length: n }, (_, i) => r.chance(0.8) ? item : junk(r, 1) ?? i);
      return `huge array ${list}[${n}]`;
    }
    case 7:
      header.total_count = r.chance(0.7) ? r.pick(NASTY_NUMBERS) : r.pick(["1", null, [], {}]);
      return `total_count ${JSON.stringify(header.total_count)}`;
    case 8:
      header.message_ts = r.pick(BAD_DATES);
      return `message_ts ${JSON.stringify(header.message_ts)}`;
    case 9: {
      const items = Object.values(message).find(Array.isArray) as Obj[] | undefined;
      const target = items?.[0] && typeof items[0] === "object" ? items[0] : message;
      target.timestamp = r.pick(BAD_DATES);
      return `item timestamp ${JSON.stringify(target.timestamp)}`;
    }
    case 10: {
      const s = r.pick(NASTY_STRINGS);
      const where = r.pick(["message_id", "receiver_id", "action", "version", "sender_uri"]);
      header[where] = s;
      if (r.chance(0.5)) message.transaction_id = s;
      return `unicode/injection in header.${where}`;
    }
    case 11:
      header[field] = null;
      message[mkey] = null;
      return `nulls header.${field} message.${mkey}`;
    case 12:
      header.action = r.pick(["on-search", "notify", "search", "subscribe", "", "SEARCH", "txn-status", "x"]);
      return `action ${JSON.stringify(header.action)}`;
    default:
      header.version = r.pick(["0.1", "2.0.0", "", "1.0.0.0", "1"]);
      header.is_msg_encrypted = r.chance(0.5) ? true : "yes";
      return `version ${JSON.stringify(header.version)}, encrypted ${
        JSON.stringify(header.is_msg_encrypted)
      }`;
  }
}

/** A valid envelope with one to three mutations, signed over the result. */
export function envelopeCase(r: Rng, ctx: FuzzContext, index: number): FuzzCase {
  const { path, endpoint, kind } = pickEndpoint(r);
  const env = validEnvelope(r, ctx.sender, endpoint, index);
  const header = env.header as Obj;
  const message = env.message as Obj;
  let desc: string;
  let body: string;
  if (r.chance(0.1)) {
    const whole = r.pick([
      () => junk(r),
      () => ({ header: junk(r), message: junk(r) }),
      () => ({ header, message: junk(r), signature: trySign(ctx.sender, { header, message }) }),
      () => ({ header: { ...header, sender_id: ctx.sender.senderId }, message: null }),
      () => [{ header, message }],
    ])();
    desc = "whole body replaced";
    body = JSON.stringify(whole) ?? "null";
  } else if (r.chance(0.05)) {
    const depth = r.pick([1000, 10_000, 30_000]);
    desc = `raw nesting ${depth} in message`;
    body = envelopeText(trySign(ctx.sender, env), header, "@@").replace('"@@"', deepNestText(depth));
  } else {
    const descs = [];
    for (let n = r.int(3) + 1; n > 0; n--) descs.push(mutate(r, header, message));
    if (r.chance(0.97)) header.sender_id = ctx.sender.senderId;
    desc = descs.join("; ");
    body = envelopeText(trySign(ctx.sender, { header, message }), header, message);
  }
  return {
    index,
    category: "envelope",
    desc,
    method: "POST",
    path,
    kind,
    headers: jsonHeaders(ctx.sender),
    body,
    authentic: true,
  };
}

const OPERATORS = [
  "eq",
  "ne",
  "gt",
  "ge",
  "lt",
  "le",
  "in",
  "like",
  "EQ",
  "",
  "$eq",
  "; DROP",
  "regex",
  null,
];
const ATTRS = [
  "given_name",
  "surname",
  "sex",
  "birth_date",
  "identifier",
  "locality",
  "region",
  "poverty_score",
  "location",
];

function expr(r: Rng): Obj {
  return {
    attribute_name: r.chance(0.5) ? r.pick(ATTRS) : r.chance(0.7) ? r.pick(NASTY_STRINGS) : junk(r, 1),
    operator: r.chance(0.8) ? r.pick(OPERATORS) : junk(r, 1),
    attribute_value: r.chance(0.3)
      ? Array.from({ length: r.pick([0, 1, 3, 500, 5000]) }, () => r.pick(NASTY_STRINGS).slice(0, 10))
      : junk(r, 2),
  };
}

function mongo(r: Rng, depth: number): unknown {
  if (depth <= 0 || r.chance(0.3)) {
    const op = r.pick(["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$regex", "$where", "$nin", "x"]);
    return {
      [r.chance(0.6) ? r.pick(ATTRS) : r.pick(NASTY_STRINGS)]: r.chance(0.8) ? { [op]: junk(r, 1) } : junk(r),
    };
  }
  const op = r.pick(["$and", "$or", "$not", "$nor", "and"]);
  return { [op]: r.chance(0.8) ? Array.from({ length: r.int(4) }, () => mongo(r, depth - 1)) : junk(r) };
}

/** A query of `type` with garbage inside (predicate items, MongoDB/OpenSPP expressions, identifiers). */
function garbageQuery(r: Rng, type: unknown): unknown {
  switch (type) {
    case "idtype-value":
      return r.chance(0.5) ? { type: junk(r, 1), value: junk(r, 1) } : junk(r);
    case "predicate":
      return r.chance(0.8)
        ? Array.from({ length: r.pick([1, 2, 5, 50]) }, (_, i) => ({
          seq_num: r.chance(0.7) ? i : junk(r, 0),
          expression1: r.chance(0.9) ? expr(r) : junk(r),
          condition: r.chance(0.5) ? r.pick(["and", "or", "not", "xor", "", null]) : undefined,
          expression2: r.chance(0.5) ? expr(r) : undefined,
        }))
        : junk(r);
    case "expression": {
      const inner = r.chance(0.7) ? mongo(r, r.pick([1, 3, 8])) : r.chance(0.5)
        ? {
          seq: [expr(r), { attribute: r.pick(NASTY_STRINGS), operator: junk(r, 0), value: junk(r) }],
          or: junk(r),
        }
        : deepNest(r, r.pick([100, 1000, 4000]));
      return { type: r.pick(["ns:org:QueryType:NoSql", "", null]), value: { expression: inner } };
    }
    default:
      return junk(r);
  }
}

/** A signed search/subscribe with garbage search criteria, filters, sort and pagination. */
export function queryCase(r: Rng, ctx: FuzzContext, index: number): FuzzCase {
  const where = r.pick(["sync/search", "sync/search", "search", "subscribe"]);
  const mount = r.pick(["/registry", "/dci_api/v1/social/registry", "/dci_api/v1/crvs/registry"]);
  const env = validEnvelope(r, ctx.sender, where, index);
  const type = r.chance(0.85) ? r.pick(["idtype-value", "predicate", "expression"]) : junk(r, 1);
  const query = garbageQuery(r, type);
  const message = env.message as Obj;
  if (where === "subscribe") {
    const item = (message.subscribe_request as Obj[])[0];
    item.subscribe_criteria = {
      reg_event_type: r.chance(0.7) ? r.pick(["update", "REGISTER", "delete"]) : junk(r, 1),
      notify_record_type: r.chance(0.7) ? "person" : junk(r, 1),
      filter_type: type,
      filter: query,
      ...(r.chance(0.2) ? { notify_details: junk(r) } : {}),
    };
  } else {
    const item = (message.search_request as Obj[])[0];
    item.search_criteria = {
      query_type: type,
      query,
      ...(r.chance(0.4)
        ? {
          sort: r.chance(0.5) ? [{ attribute_name: r.pick(NASTY_STRINGS), sort_order: junk(r, 0) }] : junk(r),
        }
        : {}),
      ...(r.chance(0.4)
        ? {
          pagination: r.chance(0.6)
            ? { page_size: r.pick(NASTY_NUMBERS), page_number: r.pick(NASTY_NUMBERS) }
            : junk(r),
        }
        : {}),
      ...(r.chance(0.1) ? { reg_record_type: junk(r, 0), response_entity: junk(r, 0) } : {}),
    };
    if (r.chance(0.1)) item.reference_id = junk(r, 0);
    if (r.chance(0.1)) item.locale = r.pick(["en", "eng", "ENG", "e", "english", "", 3]);
  }
  return {
    index,
    category: "query",
    desc: `${where} query_type ${JSON.stringify(type)?.slice(0, 40)}`,
    method: "POST",
    path: `${mount}/${where}`,
    kind: where.startsWith("sync") ? "sync" : "async",
    headers: jsonHeaders(ctx.sender),
    body: envelopeText(trySign(ctx.sender, env), env.header, env.message),
    authentic: true,
  };
}
