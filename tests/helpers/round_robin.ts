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
    let lastError: unknown;
    for (let tries = 0; tries < upstreams.length; tries++) {
      const upstream = upstreams[next++ % upstreams.length];
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
        lastError = err; // connection refused or reset: the instance is down, try the next
      }
    }
    return new Response(`no upstream answered: ${lastError}`, { status: 502 });
  });
  const addr = server.addr as Deno.NetAddr;
  return {
    url: `http://127.0.0.1:${addr.port}`,
    served,
    close: () => server.shutdown(),
  };
}
