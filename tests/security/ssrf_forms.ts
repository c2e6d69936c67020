/**
 * The SSRF URL forms the review tried (issue 11, "What held"): hosts spelled every way a parser or a stack
 * accepts, names that resolve inside (offline, see NAMES), and non-http(s) or credentialed URLs. Shared by the
 * guard test (no_egress_test.ts) and the test of each entry point (held_ssrf_test.ts).
 */
import { METADATA_HOSTS } from "../../src/net/guard.ts";

/** URL forms an attacker tries, as sender callback URLs, sender_uri, JWKS and notification URLs. */
export const SSRF_HOSTS = [
  // loopback, spelled every way a URL parser or a stack accepts
  "127.0.0.1",
  "127.1",
  "127.0.1",
  "2130706433",
  "0x7f000001",
  "0x7f.0.0.1",
  "0177.0.0.1",
  "017700000001",
  "127.255.255.254",
  "0.0.0.0",
  "0",
  "[::1]",
  "[::]",
  "[0:0:0:0:0:0:0:1]",
  "[::ffff:127.0.0.1]",
  "[::ffff:7f00:1]",
  "[::127.0.0.1]",
  "[::ffff:0:127.0.0.1]",
  "[64:ff9b::127.0.0.1]",
  "[2002:7f00:1::]",
  "localhost",
  "LOCALHOST",
  "localhost.",
  "foo.localhost",
  // private, shared and link-local networks
  "10.0.0.1",
  "10.255.255.255",
  "172.16.0.1",
  "172.31.255.255",
  "192.168.0.1",
  "100.64.0.1",
  "198.18.0.1",
  "[fd00::1]",
  "[fc00::1]",
  "[fe80::1]",
  "[fec0::1]",
  "[::ffff:10.0.0.1]",
  "[::ffff:192.168.1.1]",
  // cloud metadata
  "169.254.169.254",
  "169.254.170.2",
  "0xa9fea9fe",
  "2852039166",
  "[::ffff:169.254.169.254]",
  "[::ffff:a9fe:a9fe]",
  "[fd00:ec2::254]",
  ...METADATA_HOSTS,
  // other special-purpose ranges
  "192.0.2.1",
  "198.51.100.1",
  "203.0.113.1",
  "224.0.0.1",
  "239.255.255.250",
  "240.0.0.1",
  "255.255.255.255",
  "[ff02::1]",
  "[2001:db8::1]",
  "[3fff::1]",
  "[5f00::1]",
  "[100::1]",
  "[::ffff:0:a00:1]",
  // local names
  "printer.local",
  "host.internal",
  "router.home.arpa",
  "intranet",
  "x.localdomain",
  // public names that resolve to internal addresses (DNS rebinding, split horizon)
  "internal.partner.example",
  "rebind.partner.example",
  "v6.partner.example",
  "mapped.partner.example",
];
/** What the names above resolve to (offline: tests never query DNS). */
export const NAMES = {
  "internal.partner.example": ["10.0.0.1"],
  "rebind.partner.example": ["93.184.216.34", "127.0.0.1"],
  "v6.partner.example": ["fd00::1"],
  "mapped.partner.example": ["::ffff:127.0.0.1"],
  "metadata.azure.com": ["169.254.169.254"],
};
/** Whole URLs that are refused for their scheme, credentials or plain http, not their host. */
export const OTHER_FORMS = [
  "ftp://93.184.216.34/",
  "file:///etc/passwd",
  "gopher://93.184.216.34:70/",
  "https://user:pw@93.184.216.34/",
  "http://93.184.216.34/", // plain http to a public address
  "not a url",
];

/** Every form as a URL: each host over http and over https on another port and path, then OTHER_FORMS. */
export function ssrfUrls(): string[] {
  return [
    ...SSRF_HOSTS.flatMap((h) => [`http://${h}/cb`, `https://${h}:8443/registry/on-search`]),
    ...OTHER_FORMS,
  ];
}
