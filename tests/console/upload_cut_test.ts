/** A console upload whose body ends inside a file part is refused, and no error is left unheard. */
import assert from "node:assert/strict";
import { streamUpload } from "../../src/console/upload.ts";

async function form(): Promise<{ bytes: Uint8Array; contentType: string }> {
  const data = new FormData();
  data.append("_csrf", "token");
  data.append("other", new Blob(["x".repeat(2000)]), "other.csv");
  data.append("file", new Blob(["y".repeat(2000)]), "people.csv");
  const req = new Request("http://localhost/", { method: "POST", body: data });
  return { bytes: new Uint8Array(await req.arrayBuffer()), contentType: req.headers.get("content-type")! };
}

for (const [what, cutAt] of [["a skipped part", 0.3], ["the taken part", 0.8]] as const) {
  Deno.test(`console upload: a body cut off inside ${what} is refused`, async () => {
    const { bytes, contentType } = await form();
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(bytes.slice(0, Math.floor(bytes.length * cutAt)));
        c.close();
      },
    });
    await assert.rejects(
      streamUpload(body, contentType, {
        field: "file",
        csrfOk: (t) => t === "token",
        take: async (file) => {
          for await (const _ of file.stream) { /* consumed */ }
          return "taken";
        },
      }),
      (err: unknown) => {
        assert.ok(err instanceof Error);
        assert.match(err.message, /Unexpected end of form/);
        return true;
      },
    );
    // An error event without a listener would surface after the rejection: give it the turn it would take.
    await new Promise((r) => setTimeout(r, 50));
  });
}
