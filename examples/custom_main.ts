/**
 * A deployment's own main.ts: dci-server with the four extension hooks (src/extensions.ts).
 *
 *   deno run --unstable-kv --unstable-cron --allow-net --allow-read --allow-write --allow-env --allow-sys \
 *     examples/custom_main.ts
 *
 * It reads its settings from the environment like `dci-server serve`, and:
 * 1. renders errors as the stock ERR ACK plus an `X-Deployment` header naming this deployment;
 * 2. adds a route, `GET /example/stats`, reporting how many async searches ran;
 * 3. replaces the async search processor with one that counts, then runs the stock one;
 * 4. adds `deployment` and `notified_event` to the data of every notification.
 */
import { type Extensions, PROCESSORS, startServer } from "../src/mod.ts";

/** This deployment's name, as its hooks show it. */
const DEPLOYMENT = "example-deployment";

let searches = 0;

const extensions: Extensions = {
  renderError: (_err, _c, fallback) => {
    const res = fallback();
    res.headers.set("X-Deployment", DEPLOYMENT);
    return res;
  },
  routes: (app) => {
    app.get("/example/stats", (c) => c.json({ deployment: DEPLOYMENT, async_searches: searches }));
  },
  processors: {
    search: async (deps, input) => {
      searches++;
      return await PROCESSORS.search(deps, input);
    },
  },
  notificationFields: (n) => ({ deployment: DEPLOYMENT, notified_event: n.eventType }),
};

if (import.meta.main) {
  const server = await startServer({ extensions });
  const stop = () => server.stop().then(() => Deno.exit(0));
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  // SIGHUP re-reads DCI_TLS_CERT/KEY, as `dci-server serve` does (`systemctl reload`); left unhandled, it would end
  // the process, which systemd takes for a clean exit and does not restart.
  if (Deno.build.os !== "windows") {
    Deno.addSignalListener("SIGHUP", () => {
      server.reloadTls?.().catch((err) => server.deps.log.error("TLS reload failed", { err }));
    });
  }
  // It rejects when the server can no longer serve (a listener lost for good): stop the rest, and exit non-zero so
  // that the supervisor restarts it.
  await server.finished.catch(async (err) => {
    server.deps.log.error("the server stopped serving", { err });
    await server.stop();
    Deno.exit(1);
  });
}
