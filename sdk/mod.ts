/**
 * dci-sdk: build, sign and verify DCI envelopes and RFC 9421 requests, get OAuth2 client-credentials tokens and
 * verify a DCI server's signed answers against its JWKS. No dependencies: WebCrypto and fetch only, so it runs
 * unchanged on Deno and Node ≥ 20 (Node imports the same code built as dist/dci.js).
 *
 *   const key = await senderKey("demo-sender", "k1", await Deno.readTextFile("sender.key"));
 *   const dci = new DciClient({ baseUrl, clientId, clientSecret, key });
 *   const answer = await dci.search([{ query: { type: "UIN", value: "TEST-001" } }]);
 */
export * from "./src/canonical.ts";
export * from "./src/encoding.ts";
export * from "./src/keys.ts";
export * from "./src/envelope.ts";
export * from "./src/envelope_signature.ts";
export * from "./src/http_signature.ts";
export * from "./src/token.ts";
export * from "./src/jwks.ts";
export * from "./src/client.ts";
