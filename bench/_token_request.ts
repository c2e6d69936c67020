/** One OAuth2 client-credentials token request from a chosen local address (bench/_abuse_token.ts). */
import http from "node:http";

/** The answer's status (0: the connection failed) and the time it took. */
export interface TokenAnswer {
  status: number;
  ms: number;
}

/** POSTs client credentials to 127.0.0.1:`port` on a fresh connection bound to `localAddress`. */
export function tokenRequest(
  port: number,
  localAddress: string,
  id: string,
  secret: string,
): Promise<TokenAnswer> {
  const body = new URLSearchParams({ grant_type: "client_credentials", client_id: id, client_secret: secret })
    .toString();
  const started = performance.now();
  return new Promise((resolve) => {
    const req = http.request({
      host: "127.0.0.1",
      port,
      path: "/oauth2/client/token",
      method: "POST",
      localAddress, // node:http binds the client socket to it: each 127.0.0.x is its own source address
      agent: false,
      headers: { "content-type": "application/x-www-form-urlencoded", "content-length": String(body.length) },
    }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - started }));
    });
    req.on("error", () => resolve({ status: 0, ms: performance.now() - started }));
    req.end(body);
  });
}
