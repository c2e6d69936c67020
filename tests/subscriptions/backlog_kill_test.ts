import assert from "node:assert/strict";
import { createServerSender } from "../helpers/auth.ts";
import { runCliProcess } from "../helpers/server.ts";
import { person, startReceiver } from "./helpers.ts";
import { notifiesOf, recordOf, startServer, subscribeVia } from "./e2e_support.ts";
import { TEST_BACKEND } from "../helpers/deps.ts";

/**
 * On PostgreSQL a restarted instance releases no lease (another instance may hold it and be working): the work and
 * the lanes the killed one held are redone once its leases lapse, so these servers lease for 5 s, not 60.
 */
const LEASE: Record<string, string> = TEST_BACKEND === "postgres" ? { DCI_LEASE_SECONDS: "5" } : {};

const EVENTS = 150;
const SUBSCRIPTIONS = 3;

/** Writes `EVENTS` updates of five persons from another process (the CLI import), the server down. */
async function backlog(dataDir: string): Promise<void> {
  const file = await Deno.makeTempFile({ suffix: ".ndjson" });
  try {
    // Registrations first (nobody subscribed to them), then the updates.
    const registrations = Array.from({ length: 5 }, (_, i) => JSON.stringify(person(`k${i}`)));
    const updates = Array.from(
      { length: EVENTS },
      (_, k) => JSON.stringify(person(`k${k % 5}`, { name: { given_name: `S${k}`, surname: "Kill" } })),
    );
    await Deno.writeTextFile(file, [...registrations, ...updates].join("\n") + "\n");
    const r = await runCliProcess(["registry", "import", file, "--batch", "50"], { DCI_DATA_DIR: dataDir });
    if (r.code !== 0) throw new Error(`registry import failed (${r.code}): ${r.stderr}`);
  } finally {
    await Deno.remove(file);
  }
}

Deno.test("e2e: a backlog drains in order per subscription and nothing is lost across a SIGKILL in the middle", async () => {
  const rx = startReceiver();
  let server = await startServer(LEASE);
  const dataDir = server.dataDir;
  try {
    const codes: string[] = [];
    for (let s = 0; s < SUBSCRIPTIONS; s++) {
      const sender = await createServerSender(server, { auto_approve_subscriptions: true });
      const [item] = await subscribeVia(server, sender, rx, `kill-${s}`, [
        { reg_event_type: "update", notify_record_type: "person" },
      ]);
      codes.push(item.subscriptions![0].code);
    }
    await server.stop();
    await backlog(dataDir);
    const seqs = (code: string) =>
      notifiesOf(rx, code).map((r) =>
        Number(/^S(\d+)$/.exec(String((recordOf(r).name as { given_name?: string })?.given_name))?.[1])
      );
    const distinct = () => codes.reduce((a, c) => a + new Set(seqs(c)).size, 0);
    // Once a third is in, the receiver stops answering (each lane waits for its answer), so the kill lands in
    // the middle of the drain however fast the server delivers.
    let answer = () => {};
    rx.status = () => {
      if (distinct() >= (EVENTS * SUBSCRIPTIONS) / 3) rx.stall ??= new Promise<void>((r) => answer = r);
      return 200;
    };
    server = await startServer(LEASE, dataDir);
    await rx.until(() => rx.stall !== undefined, 60_000);
    assert.equal(await server.stop("SIGKILL"), 137);
    const before = distinct();
    rx.status = () => 200;
    rx.stall = undefined;
    answer();
    assert.ok(before < EVENTS * SUBSCRIPTIONS, "killed in the middle of the drain");
    server = await startServer(LEASE, dataDir);
    await rx.until(() => distinct() === EVENTS * SUBSCRIPTIONS, 120_000);
    for (const code of codes) {
      const got = seqs(code);
      // At least once: a notification in flight at the kill may come twice, never out of order or missing.
      const firsts = got.filter((s, i) => got.indexOf(s) === i);
      assert.deepEqual(firsts, firsts.toSorted((a, b) => a - b), `order kept for ${code}`);
      assert.equal(firsts.length, EVENTS, `nothing lost for ${code}`);
      assert.ok(got.length - firsts.length <= 2, `few duplicates for ${code}: ${got.length - firsts.length}`);
    }
  } finally {
    await server.stop();
    await rx.close();
  }
});
