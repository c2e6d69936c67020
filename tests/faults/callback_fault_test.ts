/**
 * A storage fault a callback meets before it is sent (a database that failed over, a held lock): the check made
 * right before sending, and the record of a callback URL that changed since the accept. Nothing was sent, so
 * no attempt is counted and the callback goes out at the next handling; a URL that could not be recorded is
 * used all the same. The faults are injected at the store (a real held lock cannot fail a read in WAL mode).
 */
import { equal, ok } from "node:assert/strict";
import { harness, searchMessage } from "../transactions/support.ts";
import { updateSender } from "../../src/senders/store.ts";
import { createLogger } from "../../src/obs/log.ts";

const locked = () => Object.assign(new Error("database is locked"), { errcode: 5 });

Deno.test("worker: a callback whose check before sending meets a storage fault is not sent and not counted; it goes out next time", async () => {
  const h = await harness();
  try {
    const res = await h.post("/registry/search", searchMessage("t-hold-fault"));
    equal(res.status, 202, JSON.stringify(res.body));
    const cid = (res.body.message as { correlation_id: string }).correlation_id;
    const row = async () => (await h.deps.storage.transactions.getByCorrelationId(cid))!;
    const store = h.deps.storage.transactions;
    const leaseOf = store.leaseOf;
    let faults = 1;
    store.leaseOf = (id) => faults-- > 0 ? Promise.reject(locked()) : leaseOf(id);
    await h.worker.handle((await row()).id);
    equal(h.http.sent.length, 0, "nothing sent");
    const waiting = await row();
    equal(waiting.state, "succeeded");
    equal(waiting.attempts, 0, "no attempt counted");
    equal(waiting.lease_owner, null, "the claim was let go");
    await h.worker.handle((await row()).id);
    equal(h.http.sent.length, 1);
    equal((await row()).state, "callback_sent");
    equal((await row()).attempts, 1);
  } finally {
    h.close();
  }
});

Deno.test("worker: a changed callback URL that cannot be recorded (a storage fault) is used all the same, the attempt counted once", async () => {
  const h = await harness();
  const warned: string[] = [];
  h.deps.log = createLogger("warn", { sink: (line) => void warned.push(String(JSON.parse(line).msg)) });
  try {
    const res = await h.post("/registry/search", searchMessage("t-url-fault"));
    equal(res.status, 202, JSON.stringify(res.body));
    const cid = (res.body.message as { correlation_id: string }).correlation_id;
    const row = async () => (await h.deps.storage.transactions.getByCorrelationId(cid))!;
    // The sender registers a callback base after the accept: the callback goes there, and the row records it.
    await updateSender(h.deps, h.alice.senderId, { callback_base_url: "https://moved.example/dci" });
    h.deps.storage.transactions.setCallbackUrl = () => Promise.reject(locked());
    await h.worker.handle((await row()).id);
    equal(h.http.sent.length, 1);
    ok(h.http.sent[0].url.startsWith("https://moved.example/dci"), h.http.sent[0].url);
    const done = await row();
    equal(done.state, "callback_sent");
    equal(done.attempts, 1);
    ok(warned.includes("callback URL not recorded; the callback goes to it all the same"), warned.join("; "));
  } finally {
    h.close();
  }
});
