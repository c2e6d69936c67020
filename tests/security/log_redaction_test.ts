/** Log lines never carry a secret's value: by field name, at any depth, in a child logger's fixed fields too. */
import assert from "node:assert/strict";
import { createLogger } from "../../src/obs/log.ts";

function capture() {
  const lines: string[] = [];
  return { lines, log: createLogger("debug", { sink: (l) => lines.push(l) }) };
}

Deno.test("log: a secret's value is redacted wherever it is in the fields, the rest kept", () => {
  const { lines, log } = capture();
  log.info("client created", {
    client_secret: "dcis_top",
    sender: { id: "s1", token: "tok-nested", keys: [{ kid: "k1", private_key: "pem-in-array" }] },
    headers: { Authorization: "Bearer abc" },
    count: 3,
  });
  const text = lines[0];
  for (const secret of ["dcis_top", "tok-nested", "pem-in-array", "Bearer abc"]) {
    assert.ok(!text.includes(secret), `${secret} reached the log line: ${text}`);
  }
  const line = JSON.parse(text);
  assert.equal(line.client_secret, "[redacted]");
  assert.equal(line.sender.token, "[redacted]");
  assert.equal(line.sender.keys[0].private_key, "[redacted]");
  assert.equal(line.sender.keys[0].kid, "k1");
  assert.equal(line.headers.Authorization, "[redacted]");
  assert.equal(line.sender.id, "s1");
  assert.equal(line.count, 3);
  assert.equal(line.msg, "client created");
});

Deno.test("log: a child logger's fixed fields are redacted too, and an error keeps its message", () => {
  const { lines, log } = capture();
  const child = log.child({ request_id: "r1", password: "hunter2", ctx: { secret: "s3cr3t" } });
  child.warn("failed", { err: new Error("boom") });
  assert.ok(!lines[0].includes("hunter2") && !lines[0].includes("s3cr3t"), lines[0]);
  const line = JSON.parse(lines[0]);
  assert.equal(line.request_id, "r1");
  assert.equal(line.password, "[redacted]");
  assert.equal(line.ctx.secret, "[redacted]");
  assert.equal(line.err.message, "boom");
  assert.equal(line.err.name, "Error");
});

Deno.test("log: names that only contain a secret word are kept (the match is on the whole name)", () => {
  const { lines, log } = capture();
  log.info("issued", { token_type: "Bearer", secret_rotated_at: "2026-12-04", signature_alg: "ed25519" });
  const line = JSON.parse(lines[0]);
  assert.equal(line.token_type, "Bearer");
  assert.equal(line.secret_rotated_at, "2026-12-04");
  assert.equal(line.signature_alg, "ed25519");
});
