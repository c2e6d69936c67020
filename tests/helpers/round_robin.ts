/**
 * A round-robin HTTP proxy on a free loopback port, standing in for the load balancer in front of several
 * instances: each request goes to the next upstream; one that cannot be reached (an instance killed) is skipped
 * for the next, as a load balancer's health check would, so a client only sees an error when none answers.
 */

/** A running proxy. */
export interface RoundRobin {
  url: string;
  /** Requests each upstream answered, by upstream URL. */
  served: Map<string, number>;
  close(): Promise<void>;
}

/** Starts a proxy over `upstreams` (base URLs such as `http://127.0.0.1:1234`). */
export function startRoundRobin(upstreams: string[]): RoundRobin {
  let next = 0;
  const served = new Map(upstreams.map((u) => [u, 0]));
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    // The body is read once so that it can be sent again to the next upstream.
    const body = req.body ? new Uint8Array(await req.arrayBuffer()) : undefined;
    const errors: string[] = [];
    // This request's turn, then each other upstream once (concurrent requests take turns of their own).
    const first = next++;
    for (let k = 0; k < upstreams.length; k++) {
      const upstream = upstreams[(first + k) % upstreams.length];
      try {
        const res = await fetch(`${upstream}${url.pathname}${url.search}`, {
          method: req.method,
          headers: req.headers,
          body,
          redirect: "manual",
        });
        served.set(upstream, (served.get(upstream) ?? 0) + 1);
        return new Response(res.body, { status: res.status, headers: res.headers });
      } catch (err) {
        // Refused or reset (the instance is down): the next one.
        errors.push(`${upstream}: ${err} (${(err as { cause?: unknown }).cause ?? ""})`);
      }
    }
    console.error(`round robin: no upstream answered ${req.method} ${url.pathname}: ${errors.join("; ")}`);
    return new Response(`no upstream answered: ${errors.join("; ")}`, { status: 502 });
  });
  const addr = server.addr as Deno.NetAddr;
  return {
    url: `http://127.0.0.1:${addr.port}`,
    served,
    close: () => server.shutdown(),
  };
}
