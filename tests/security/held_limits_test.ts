/**
 * What held (issue 11): the replay guard and the rate limits are exact under parallel bursts, across HTTP
 * isolates and across a restart. The real server runs with two HTTP isolates (each with its own SQLite
 * connection and group commit); bursts go out at once, each request on its own connection, so both isolates
 * decide some of them; then the server is SIGKILLed and started again on the same data dir.
 */
import assert from "node:assert/strict";
import { postJson } from "../helpers/server.ts";
import type { TestSender } from "../helpers/auth.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import { createServerSender, startWorkerServer } from "../transactions/e2e_support.ts";
import { searchMessage } from "../transactions/support.ts";

type Answer = Awaited<ReturnType<typeof postJson>>;

/** A freshly signed sync search envelope from `sender` (new message_id and message_ts each call). */
function envelope(sender: TestSender, n: number) {
  return sender.sign(requestEnvelope(sender.senderId, searchMessage(`t-burst-${n}`), { totalCount: 1 }));
}

/** POSTs `body` to sync/search as `sender` on a connection of its own. */
function syncSearch(server: { url: string }, sender: TestSender, body: unknown): Promise<Answer> {
  return postJson(`${server.url}/registry/sync/search`, body, { ...sender.headers(), connection: "close" });
}

/** How many answers had each status, and which isolates answered. */
function tally(answers: Answer[]): { byStatus: Record<number, number>; isolates: Set<string> } {
  const byStatus: Record<number, number> = {};
  for (const a of answers) byStatus[a.status] = (byStatus[a.status] ?? 0) + 1;
  return { byStatus, isolates: new Set(answers.map((a) => a.headers.get("x-dci-isolate") ?? "?")) };
}

const reasonOf = (a: Answer) => (a.body.header as Record<string, string> | undefined)?.status_reason_code;

Deno.test("held: replay guard and rate limits are exact under parallel bursts across 2 isolates and a SIGKILL restart", async () => {
  const env = { DCI_HTTP_ISOLATES: "2", DCI_WORKER: "false" };
  let server = await startWorkerServer(env);
  try {
    const limited = await createServerSender(server, { limit_minute: 25 });
    const replayer = await createServerSender(server);
    // 75 distinct requests at once from a sender allowed 25 a minute.
    const burst = tally(
      await Promise.all(
        Array.from({ length: 75 }, (_, i) => syncSearch(server, limited, envelope(limited, i))),
      ),
    );
    assert.deepEqual(burst.byStatus, { 200: 25, 429: 50 });
    assert.ok(burst.isolates.has("http-1") && burst.isolates.has("http-2"), [...burst.isolates].join());
    // One signed envelope 40 times at once: accepted once.
    const twin = envelope(replayer, 0);
    const replays = await Promise.all(Array.from({ length: 40 }, () => syncSearch(server, replayer, twin)));
    const r = tally(replays);
    assert.deepEqual(r.byStatus, { 200: 1, 409: 39 });
    assert.ok(r.isolates.has("http-1") && r.isolates.has("http-2"), [...r.isolates].join());
    assert.ok(
      replays.filter((a) => a.status === 409).every((a) => reasonOf(a) === "rjct.message_id.duplicate"),
    );

    assert.equal(await server.stop("SIGKILL"), 137);
    server = await startWorkerServer(env, server.dataDir);
    // After the restart the envelope is still a replay and the limited sender's minute is still full.
    const again = await Promise.all(Array.from({ length: 4 }, () => syncSearch(server, replayer, twin)));
    assert.deepEqual(again.map((a) => a.status), [409, 409, 409, 409]);
    const over = await Promise.all(
      Array.from({ length: 4 }, (_, i) => syncSearch(server, limited, envelope(limited, 100 + i))),
    );
    assert.deepEqual(over.map((a) => a.status), [429, 429, 429, 429]);
    assert.ok(Number(over[0].headers.get("retry-after")) > 0);
    // The control: fresh envelopes of the unlimited sender pass, in parallel, on both isolates.
    const fresh = tally(
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => syncSearch(server, replayer, envelope(replayer, 200 + i))),
      ),
    );
    assert.deepEqual(fresh.byStatus, { 200: 20 });
  } finally {
    await server.stop();
  }
});
