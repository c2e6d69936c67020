import { equal, match, ok } from "node:assert/strict";
import { drainingAnswer, heldBody, startServerProcess, untilInFlight } from "../helpers/server.ts";
import { createServerSender, send, startWorkerServer, waitForState } from "../transactions/e2e_support.ts";
import { startReceiver } from "../transactions/receiver.ts";
import { searchMessage } from "../transactions/support.ts";

const corrOf = (r: { body: Record<string, unknown> }) =>
  (r.body.message as Record<string, string>).correlation_id;

/** Isolate ids that answered `n` requests, each on a fresh connection (the kernel spreads connections). */
async function isolatesAnswering(url: string, n: number): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const res = await fetch(`${url}/healthz`, { headers: { connection: "close" } });
    await res.body?.cancel();
    const id = res.headers.get("x-dci-isolate") ?? "none";
    seen.set(id, (seen.get(id) ?? 0) + 1);
  }
  return seen;
}

Deno.test("isolates: with 2 HTTP isolates both answer, /metrics sums them, callbacks come from the main isolate", async () => {
  const receiver = startReceiver();
  // A long lease and sweep interval: only the bus wake-up can make the callback prompt.
  const server = await startWorkerServer({
    DCI_HTTP_ISOLATES: "2",
    DCI_LEASE_SECONDS: "600",
    DCI_SWEEP_INTERVAL_SECONDS: "600",
  });
  try {
    equal(server.logs.filter((l) => l.msg === "http isolate listening").length, 2);
    const seen = await isolatesAnswering(server.url, 40);
    ok(seen.has("http-1") && seen.has("http-2"), `both isolates answer: ${JSON.stringify([...seen])}`);
    ok(!seen.has("main"), "the main isolate serves no HTTP");
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    match(metrics, /dci_http_requests_total\{method="GET",route="\/healthz",status="200"\} 40\n/);

    const alice = await createServerSender(server);
    const acks = await Promise.all(
      [1, 2, 3, 4].map((i) =>
        send(server, alice, "/registry/search", searchMessage(`iso-${i}`), `${receiver.url}/cb`)
      ),
    );
    for (const a of acks) equal(a.status, 202);
    // Long before the 600 s lease or sweep: the bus wake-up (or the due-work poll) sent them.
    await receiver.waitFor((rs) => rs.length >= 4, 30_000);
    for (const a of acks) await waitForState(server, corrOf(a), "callback_sent");
    // The worker's figures (main isolate) appear in the /metrics of an HTTP isolate.
    const after = await (await fetch(`${server.url}/metrics`)).text();
    match(after, /dci_txn_callbacks_total\{action="search",outcome="sent"\} 4\n/);
    const txnLines = server.logs.filter((l) => l.msg === "request" && String(l.path).endsWith("/search"));
    ok(txnLines.every((l) => String(l.isolate).startsWith("http-")), "accepts are served by HTTP isolates");
  } finally {
    equal(await server.stop("SIGTERM"), 0);
    await receiver.close();
  }
  ok(server.logs.some((l) => l.msg === "stopped"));
});

Deno.test("isolates: SIGTERM with 2 HTTP isolates finishes an in-flight request, refuses new ones, exits 0", async () => {
  const srv = await startServerProcess({ env: { DCI_HTTP_ISOLATES: "2", DCI_WORKER: "true" } });
  // The token endpoint reads the body before anything else answers, so the request stays in flight until the
  // test ends its body.
  const held = heldBody();
  const pending = fetch(`${srv.url}/oauth2/client/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: held.body,
  });
  await untilInFlight(srv.url, 1);
  const code = srv.stop("SIGTERM");
  // Whichever isolate takes it, a new request is refused while the slow one drains (each probed until the stop
  // has reached it; an isolate with nothing in flight closes its listener, leaving the other one).
  for (let i = 0; i < 4; i++) {
    equal((await drainingAnswer(srv.url)).body.message.error.code, "err.service.unavailable");
  }
  held.end();
  const res = await pending;
  equal(res.status, 400); // answered in full: the whole body was read, and it has no grant_type
  await res.body?.cancel();
  equal(await code, 0);
  ok(srv.logs.some((l) => l.msg === "stopped"));
});

Deno.test("isolates: a second process (DCI_WORKER=false) accepts; the first one's worker calls back within seconds", async () => {
  const receiver = startReceiver();
  const first = await startWorkerServer({ DCI_LEASE_SECONDS: "600", DCI_SWEEP_INTERVAL_SECONDS: "600" });
  const second = await startWorkerServer({ DCI_WORKER: "false", DCI_ADMIN_TOKEN: "" }, first.dataDir);
  try {
    const alice = await createServerSender(second);
    const ack = await send(
      second,
      alice,
      "/registry/search",
      searchMessage("other-proc"),
      `${receiver.url}/cb`,
    );
    equal(ack.status, 202);
    // Long before the 600 s lease or sweep: only the arrival poll can have picked it up.
    await receiver.waitFor((rs) => rs.length >= 1, 30_000);
    await waitForState(first, corrOf(ack), "callback_sent");
  } finally {
    equal(await second.stop(), 0);
    equal(await first.stop(), 0);
    await receiver.close();
  }
});
