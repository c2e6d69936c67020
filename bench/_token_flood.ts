/**
 * The flood of bench/_abuse_token.ts, in its own process so that generating it does not slow the measured
 * client: FLOOD_N bad token requests from FLOOD_SOURCES loopback addresses, FLOOD_CONCURRENCY at a time.
 * Env: FLOOD_PORT, FLOOD_LEGIT_ID, FLOOD_VICTIMS (comma list of client ids). Prints `{status: count}` as JSON.
 */
import { tokenRequest } from "./_token_request.ts";

const port = Number(Deno.env.get("FLOOD_PORT"));
const n = Number(Deno.env.get("FLOOD_N") ?? 1000);
const sources = Number(Deno.env.get("FLOOD_SOURCES") ?? 64);
const concurrency = Number(Deno.env.get("FLOOD_CONCURRENCY") ?? 32);
const legitId = Deno.env.get("FLOOD_LEGIT_ID")!;
const victims = (Deno.env.get("FLOOD_VICTIMS") ?? "").split(",").filter(Boolean);

const statuses: Record<string, number> = {};
let next = 0;
async function worker() {
  for (let i = next++; i < n; i = next++) {
    // A third each: made-up ids, the legitimate client's own id, other real ids (wrong secrets throughout).
    const kind = i % 3;
    const id = kind === 0
      ? `dcic_${crypto.randomUUID().slice(0, 12)}`
      : kind === 1 || victims.length === 0
      ? legitId
      : victims[i % victims.length];
    const a = await tokenRequest(port, `127.0.0.${2 + (i % sources)}`, id, `dcis_wrong_${i}`);
    statuses[a.status] = (statuses[a.status] ?? 0) + 1;
  }
}
await Promise.all(Array.from({ length: concurrency }, worker));
console.log(JSON.stringify(statuses));
