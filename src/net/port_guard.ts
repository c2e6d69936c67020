/**
 * Refusing to start on a port another process holds. The HTTP isolates share their port with SO_REUSEPORT,
 * which the kernel also grants to any other process of the same user that asks for it: a second server would
 * silently take half the connections. So the first bind of a server is preceded by a probe bind without
 * SO_REUSEPORT, which fails while anything listens on the port (with or without SO_REUSEPORT, on this address
 * or the wildcard one).
 *
 * The probe and the bind that follows it run in one synchronous sequence, so two servers starting at the same
 * moment could only both pass if one probed within the microseconds between the other's probe and bind.
 * Connections in TIME_WAIT from an earlier run do not trip the probe: Deno binds listeners with SO_REUSEADDR.
 */

/** The port is already bound by another process (exit code 1, message names the port). */
export class PortInUseError extends Error {
  constructor(hostname: string, port: number) {
    super(
      `port ${port} on ${hostname} is already in use by another process (another dci-server?): ` +
        `stop it or choose another port with DCI_PORT or --port`,
    );
  }
}

/** Throws PortInUseError when something listens on `hostname:port`; port 0 (any free port) always passes. */
export function assertPortFree(hostname: string, port: number): void {
  if (port === 0) return;
  let probe: Deno.Listener;
  try {
    probe = Deno.listen({ hostname, port });
  } catch (err) {
    if (err instanceof Deno.errors.AddrInUse) throw new PortInUseError(hostname, port);
    throw err;
  }
  probe.close();
}

/** `err` as a PortInUseError when it is the bind's "address in use", else unchanged. */
export function explainBindError(err: unknown, hostname: string, port: number): unknown {
  return err instanceof Deno.errors.AddrInUse ? new PortInUseError(hostname, port) : err;
}
