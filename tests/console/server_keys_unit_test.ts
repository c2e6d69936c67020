/** Until when each server key's access tokens stay valid, as the console's Server keys page warns. */
import assert from "node:assert/strict";
// The layout declares the console's c.render(…, { title }), which the page module uses.
import "../../src/console/layout.tsx";
import { tokensValidUntil } from "../../src/keys/retire_check.ts";
import type { KeyInfo } from "../../src/keys/server_keys.ts";

const key = (
  key_id: string,
  status: KeyInfo["status"],
  signs_from: string,
  retired_at: string | null = null,
) =>
  ({
    key_id,
    alg: "ed25519",
    kid: `s|${key_id}|ed25519`,
    status,
    created_at: signs_from,
    retired_at,
    signs_from,
  }) as KeyInfo;

Deno.test("tokensValidUntil: a key signs until the next key that signed began to; waiting keys never signed", () => {
  const ttl = 3600;
  const keys = [
    // Newest first: one waiting, then one rotated in at once (which retired the one waiting before it), ...
    key("k4", "next", "2026-01-01T03:00:00.000Z"),
    key("k3", "active", "2026-01-01T02:00:00.000Z"),
    key("k2", "retired", "2026-01-01T02:10:00.000Z", "2026-01-01T02:00:00.000Z"),
    key("k1", "published", "2026-01-01T00:00:00.000Z"),
  ];
  const until = tokensValidUntil(keys, ttl);
  assert.equal(until.get("k1"), Date.parse("2026-01-01T02:00:00.000Z") + ttl * 1000);
  assert.equal(until.has("k3"), false, "the signer's tokens keep coming");
  assert.equal(until.has("k4"), false);
});
