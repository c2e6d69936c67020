/**
 * The callback attempt history end to end: the real server on loopback delivers to a real receiver that fails
 * twice (HTTP 500, then HTTP 200 with ack_status ERR and a code) and then accepts; the admin API and
 * `txn show` (--json and the table for people) show the three attempts with their errors in order.
 */
import assert from "node:assert/strict";
import { runCliProcess } from "../helpers/server.ts";
import { adminGet, createServerSender, send, startWorkerServer, waitForState } from "./e2e_support.ts";
import { searchMessage } from "./support.ts";
import { ack, errAck, startPartnerReceiver } from "../conformance/partner.ts";

Deno.test("e2e: three callback attempts (500, 2xx ERR with a code, ACK) in order via the admin API and txn show", async () => {
  const rx = startPartnerReceiver();
  const server = await startWorkerServer();
  try {
    const answers = [
      { status: 500, body: { detail: "down" } },
      { status: 200, body: errAck("err.request.timeout") },
      { status: 200, body: ack() },
    ];
    let n = 0;
    rx.respond = () => answers[Math.min(n++, answers.length - 1)];
    const alice = await createServerSender(server);
    const r = await send(server, alice, "/registry/search", searchMessage("e2e-hist"), `${rx.url}/cb`);
    assert.equal(r.status, 202);
    const corr = (r.body.message as Record<string, string>).correlation_id;
    await waitForState(server, corr, "callback_sent");

    const expected = [
      [1, "retry", 500, null, "HTTP 500 from callback URL"],
      [
        2,
        "retry",
        200,
        "err.request.timeout",
        "callback URL rejected the delivery: HTTP 200 with ack_status ERR err.request.timeout",
      ],
      [3, "sent", 200, null, null],
    ];
    const rows = (attempts: unknown) =>
      (attempts as Array<Record<string, unknown>>).map((a) => [
        a.attempt,
        a.outcome,
        a.http_status,
        a.receiver_code,
        a.error,
      ]);
    const shown = await adminGet(server, `/transactions/${corr}`);
    assert.deepEqual(rows(shown.callback_attempts), expected);
    assert.equal(shown.callback_attempts_omitted, 0);

    const json = await runCliProcess(["txn", "show", corr, "--json", "--data-dir", server.dataDir]);
    assert.equal(json.code, 0, json.stderr);
    const doc = JSON.parse(json.stdout);
    assert.deepEqual(rows(doc.callback_attempts), expected);
    assert.deepEqual(doc.callback_attempts, shown.callback_attempts, "the CLI shows what the admin API does");

    const text = await runCliProcess(["txn", "show", corr, "--data-dir", server.dataDir]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /callback_attempts:\s+3 \(table below\)/);
    const table = text.stdout.split("\n").filter((l) => /^(ATTEMPT|\d+ )/.test(l));
    assert.match(
      table[0],
      /^ATTEMPT\s+STARTED_AT\s+DURATION_MS\s+OUTCOME\s+HTTP_STATUS\s+RECEIVER_CODE\s+ERROR$/,
    );
    assert.match(table[1], /^1\s.*\sretry\s+500\s+HTTP 500 from callback URL$/);
    assert.match(table[2], /^2\s.*\sretry\s+200\s+err\.request\.timeout\s+callback URL rejected/);
    assert.match(table[3], /^3\s.*\ssent\s+200$/);
  } finally {
    await server.stop();
    await rx.close();
  }
});
