import assert from "node:assert/strict";
import { testDeps } from "../helpers/deps.ts";
import { createApp } from "../helpers/app.ts";
import { newAjv, rawSpecDocument, readable } from "../helpers/spec_validator.ts";
import { type Json, operations } from "./openapi_support.ts";
import { bulkForm } from "../transactions/bulk_support.ts";

const REGISTRIES = ["social", "crvs", "fr", "dr", "ibr"];

async function document(): Promise<Json> {
  const deps = await testDeps({ registries: REGISTRIES.join(",") });
  try {
    const res = await createApp(deps).request("/dci_api/v1/openapi.json");
    assert.equal(res.status, 200);
    return await res.json();
  } finally {
    deps.close();
  }
}

/** The parts of a multipart body as the document's schema sees them: the header part as its JSON. */
async function partsOf(form: { bytes: Uint8Array; contentType: string }): Promise<Record<string, unknown>> {
  const data = await new Request("http://localhost/", {
    method: "POST",
    headers: { "content-type": form.contentType },
    body: form.bytes as BodyInit,
  }).formData();
  const parts: Record<string, unknown> = {};
  for (const [name, value] of data) {
    parts[name] = typeof value === "string"
      ? (name === "header" ? JSON.parse(value) : value)
      : await value.text();
  }
  return parts;
}

Deno.test("OpenAPI document: each registry's async search documents the FileInfo multipart body beside the JSON body; sync search only JSON", async () => {
  const doc = await document();
  const asyncSearch = operations(doc).filter((o) =>
    o.method === "POST" && /\/registry\/search$/.test(o.path)
  );
  // Every mount of the five registries' async search (with and without the /dci_api/v1/{registry} prefix).
  assert.ok(asyncSearch.length >= REGISTRIES.length, `${asyncSearch.length} async search operations`);
  for (const r of REGISTRIES) assert.ok(doc.paths[`/dci_api/v1/${r}/registry/search`], r);
  for (const { path, op } of asyncSearch) {
    const content = op.requestBody.content;
    assert.deepEqual(Object.keys(content).sort(), ["application/json", "multipart/form-data"], path);
    assert.equal(content["application/json"].schema.$ref, "#/components/schemas/SearchRequestEnvelope");
    const multipart = content["multipart/form-data"];
    assert.equal(multipart.schema.$ref, "#/components/schemas/BulkSearchUpload", path);
    assert.equal(multipart.encoding.header.contentType, "application/json", path);
    assert.match(op.responses["413"].description, /DCI_BULK_MAX_FILE_BYTES/, path);
    assert.match(op.responses["415"].description, /multipart\/form-data/, path);
  }
  for (const { path, op } of operations(doc).filter((o) => /\/registry\/sync\/search$/.test(o.path))) {
    assert.deepEqual(Object.keys(op.requestBody.content), ["application/json"], path);
  }
});

Deno.test("OpenAPI document: FileInfo is the spec's, and BulkSearchUpload takes the parts a real upload sends, not another action's", async () => {
  const doc = await document();
  const spec = rawSpecDocument("social").components.schemas.FileInfo;
  const ours = doc.components.schemas.FileInfo;
  assert.deepEqual(ours.required, spec.required);
  assert.equal(ours.type, spec.type);
  assert.deepEqual(Object.keys(ours.properties).sort(), Object.keys(spec.properties).sort());
  for (const [name, prop] of Object.entries(spec.properties as Record<string, Json>)) {
    assert.equal(ours.properties[name].type, prop.type, name);
    assert.equal(ours.properties[name].format, prop.format, name);
    assert.equal(ours.properties[name].default, prop.default, name);
  }
  const upload = doc.components.schemas.BulkSearchUpload;
  assert.equal(upload.allOf[0].$ref, "#/components/schemas/FileInfo");

  const validate = newAjv(doc, "server").compile({ $ref: "server#/components/schemas/BulkSearchUpload" });
  for (const format of ["csv", "json"] as const) {
    const form = await bulkForm("sender-1", {
      format,
      file: format === "csv" ? "type,value\nUIN,TEST-001\n" : '[{"type":"UIN","value":"TEST-001"}]',
      senderUri: "http://127.0.0.1:9/cb",
    });
    const parts = await partsOf(form);
    assert.deepEqual(Object.keys(parts).sort(), [
      "action",
      "fileFormat",
      "fileName",
      "header",
      "transaction_id",
    ]);
    assert.ok(validate(parts), readable(validate.errors ?? [], format).join("\n"));
    // The schema is not vacuous: FileInfo's action narrowed to search, the header part required.
    assert.equal(validate({ ...parts, action: "on-search" }), false);
    const { header: _header, ...withoutHeader } = parts;
    assert.equal(validate(withoutHeader), false);
    assert.equal(validate({ ...parts, fileFormat: "xml" }), false);
  }
});
