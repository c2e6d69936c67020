/**
 * Prints the OpenAPI document the server serves at /dci_api/v1/openapi.json (every registry served, in-memory
 * data): `deno task openapi > dist/openapi.json`, which `.ci/run` lints with redocly (redocly.yaml).
 */
import { testConfig } from "../src/config.ts";
import { closeDeps, openDeps } from "../src/deps.ts";
import { createApp } from "../src/app.ts";
import { silentLogger } from "../src/obs/log.ts";
import { OPENAPI_PATH } from "../src/system/openapi_doc.ts";

const deps = await openDeps(testConfig({ registries: "all" }), { log: silentLogger });
try {
  const res = await createApp(deps).request(OPENAPI_PATH);
  if (res.status !== 200) throw new Error(`${OPENAPI_PATH} answered ${res.status}`);
  console.log(JSON.stringify(await res.json(), null, 2));
} finally {
  closeDeps(deps);
}
