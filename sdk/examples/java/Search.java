// A DCI sync search from Java 17 with only the JDK: token (OAuth2 client credentials), Ed25519 or RSA envelope
// signature, search, and the server's signed answer verified against its JWKS. Single-file launch:
//   DCI_CLIENT_ID=dcic_… DCI_CLIENT_SECRET=dcis_… java Search.java BASE_URL SENDER_ID KEY_ID KEY_FILE [ID_TYPE ID_VALUE]
// Prints one JSON line: HTTP status, whether the answer verified, the kid it was signed with, the records.
import java.math.BigInteger;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.RSAPublicKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

public class Search {
  static final int MAX_WINDOW_S = 300; // the server's longest signature validity (expires - created)
  static final int SKEW_S = 60; // how far ahead of our clock `created` may be
  // HTTP/1.1: on http:// URLs the JDK's default asks to upgrade to h2c, which the server refuses.
  static final HttpClient HTTP = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

  /** A JSON number kept as written: the server hashed its text. */
  record Num(String text) {}

  public static void main(String[] args) throws Exception {
    String baseUrl = args[0], senderId = args[1], keyId = args[2], keyFile = args[3];
    String idType = args.length > 5 ? args[4] : "UIN", idValue = args.length > 5 ? args[5] : "TEST-001";
    PrivateKey key = readPrivateKey(Files.readString(Path.of(keyFile)));
    String alg = key.getAlgorithm().equals("RSA") ? "rsa-sha256" : "ed25519";
    String token = token(baseUrl, System.getenv("DCI_CLIENT_ID"), System.getenv("DCI_CLIENT_SECRET"));

    String now = Instant.now().toString();
    Map<String, Object> header = new LinkedHashMap<>();
    header.put("version", "1.0.0");
    header.put("message_id", UUID.randomUUID().toString());
    header.put("message_ts", now);
    header.put("action", "search");
    header.put("sender_id", senderId);
    header.put("total_count", new Num("1"));
    header.put("is_msg_encrypted", false);
    Map<String, Object> criteria = new LinkedHashMap<>();
    criteria.put("reg_type", "ns:org:RegistryType:Social");
    criteria.put("query_type", "idtype-value");
    criteria.put("query", Map.of("type", idType, "value", idValue));
    Map<String, Object> item = new LinkedHashMap<>();
    item.put("reference_id", UUID.randomUUID().toString());
    item.put("timestamp", now);
    item.put("search_criteria", criteria);
    Map<String, Object> message = new LinkedHashMap<>();
    message.put("transaction_id", UUID.randomUUID().toString());
    message.put("search_request", List.of(item));

    long created = Instant.now().getEpochSecond(), expires = created + MAX_WINDOW_S;
    byte[] data = signingString(created, expires, write(Map.of("header", header, "message", message)));
    Signature signer = Signature.getInstance(alg.equals("ed25519") ? "Ed25519" : "SHA256withRSA");
    signer.initSign(key);
    signer.update(data);
    String signature = String.format(
        "namespace=\"dci\", kidId=\"%s|%s|%s\", algorithm=\"%s\", created=\"%d\", expires=\"%d\", "
            + "headers=\"(created) (expires) digest\", signature=\"%s\"",
        senderId, keyId, alg, alg, created, expires, Base64.getEncoder().encodeToString(signer.sign()));
    Map<String, Object> envelope = new LinkedHashMap<>();
    envelope.put("signature", signature);
    envelope.put("header", header);
    envelope.put("message", message);

    HttpResponse<String> res = HTTP.send(HttpRequest.newBuilder(URI.create(baseUrl + "/registry/sync/search"))
        .header("Authorization", "Bearer " + token).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(write(envelope))).build(), HttpResponse.BodyHandlers.ofString());
    if (res.statusCode() != 200) throw new IllegalStateException("search failed: HTTP " + res.statusCode() + " " + res.body());
    @SuppressWarnings("unchecked")
    Map<String, Object> answer = (Map<String, Object>) new Reader(res.body()).value();
    String kid = verify(baseUrl, answer);
    @SuppressWarnings("unchecked")
    Map<String, Object> first = (Map<String, Object>) ((List<Object>) ((Map<String, Object>) answer.get("message"))
        .get("search_response")).get(0);
    @SuppressWarnings("unchecked")
    Object records = first.get("data") instanceof Map<?, ?> d ? ((Map<String, Object>) d).get("reg_records") : List.of();
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("status", new Num(String.valueOf(res.statusCode())));
    out.put("verified", true);
    out.put("kid", kid);
    out.put("item_status", first.get("status"));
    out.put("records", records);
    System.out.println(write(out));
  }

  static String token(String baseUrl, String clientId, String clientSecret) throws Exception {
    String basic = Base64.getEncoder().encodeToString((clientId + ":" + clientSecret).getBytes(StandardCharsets.UTF_8));
    HttpResponse<String> res = HTTP.send(HttpRequest.newBuilder(URI.create(baseUrl + "/oauth2/client/token"))
        .header("Authorization", "Basic " + basic).header("Content-Type", "application/x-www-form-urlencoded")
        .POST(HttpRequest.BodyPublishers.ofString("grant_type=client_credentials")).build(),
        HttpResponse.BodyHandlers.ofString());
    if (res.statusCode() != 200) throw new IllegalStateException("token request failed: HTTP " + res.statusCode() + " " + res.body());
    @SuppressWarnings("unchecked")
    Map<String, Object> body = (Map<String, Object>) new Reader(res.body()).value();
    return (String) body.get("access_token");
  }

  /** Verifies the answer's signature with the key its kidId names in the server's JWKS; returns the kid. */
  static String verify(String baseUrl, Map<String, Object> answer) throws Exception {
    Map<String, String> p = new HashMap<>();
    Matcher m = Pattern.compile("(\\w+)=\"([^\"]*)\"").matcher((String) answer.get("signature"));
    while (m.find()) p.put(m.group(1), m.group(2));
    long created = Long.parseLong(p.get("created")), expires = Long.parseLong(p.get("expires"));
    long now = Instant.now().getEpochSecond();
    if (now > expires || created > now + SKEW_S || expires - created > MAX_WINDOW_S) {
      throw new SecurityException("the answer's signature is outside its validity window");
    }
    HttpResponse<String> res = HTTP.send(HttpRequest.newBuilder(URI.create(baseUrl + "/.well-known/jwks.json")).build(),
        HttpResponse.BodyHandlers.ofString());
    @SuppressWarnings("unchecked")
    List<Map<String, Object>> keys = (List<Map<String, Object>>) ((Map<String, Object>) new Reader(res.body()).value()).get("keys");
    Map<String, Object> jwk = keys.stream().filter(k -> p.get("kidId").equals(k.get("kid"))).findFirst()
        .orElseThrow(() -> new SecurityException("kid " + p.get("kidId") + " is not in the server's JWKS"));
    Base64.Decoder url = Base64.getUrlDecoder();
    PublicKey pub;
    Signature verifier;
    if ("OKP".equals(jwk.get("kty"))) {
      // SPKI of an Ed25519 key: a fixed 12-byte prefix, then the 32 raw bytes of `x`.
      byte[] prefix = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
      byte[] x = url.decode((String) jwk.get("x"));
      byte[] spki = new byte[prefix.length + x.length];
      System.arraycopy(prefix, 0, spki, 0, prefix.length);
      System.arraycopy(x, 0, spki, prefix.length, x.length);
      pub = KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(spki));
      verifier = Signature.getInstance("Ed25519");
    } else {
      pub = KeyFactory.getInstance("RSA").generatePublic(new RSAPublicKeySpec(
          new BigInteger(1, url.decode((String) jwk.get("n"))), new BigInteger(1, url.decode((String) jwk.get("e")))));
      verifier = Signature.getInstance("SHA256withRSA");
    }
    verifier.initVerify(pub);
    verifier.update(signingString(created, expires, write(Map.of("header", answer.get("header"), "message", answer.get("message")))));
    if (!verifier.verify(Base64.getDecoder().decode(p.get("signature")))) {
      throw new SecurityException("the answer's signature does not verify");
    }
    return p.get("kidId");
  }

  static byte[] signingString(long created, long expires, String canonical) throws Exception {
    byte[] hash = MessageDigest.getInstance("SHA-256").digest(canonical.getBytes(StandardCharsets.UTF_8));
    String digest = Base64.getEncoder().encodeToString(hash);
    return ("(created): " + created + "\n(expires): " + expires + "\ndigest: " + digest).getBytes(StandardCharsets.UTF_8);
  }

  /** A PKCS#8 PEM private key (`openssl genpkey` output), Ed25519 or RSA. */
  static PrivateKey readPrivateKey(String pem) throws Exception {
    String b64 = pem.replaceAll("-----[A-Z ]+-----", "").replaceAll("\\s", "");
    PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(Base64.getDecoder().decode(b64));
    try {
      return KeyFactory.getInstance("Ed25519").generatePrivate(spec);
    } catch (java.security.spec.InvalidKeySpecException notEd25519) {
      return KeyFactory.getInstance("RSA").generatePrivate(spec);
    }
  }

  /**
   * Canonical JSON as the server signs it: keys sorted by UTF-16 code units (String.compareTo), no whitespace,
   * every character outside 0x20–0x7e escaped as Python's json.dumps does, numbers as written.
   */
  static String write(Object v) {
    StringBuilder sb = new StringBuilder();
    write(v, sb);
    return sb.toString();
  }

  static void write(Object v, StringBuilder sb) {
    if (v == null) sb.append("null");
    else if (v instanceof Boolean b) sb.append(b);
    else if (v instanceof Num n) sb.append(n.text());
    else if (v instanceof Number n) sb.append(n);
    else if (v instanceof String s) writeString(s, sb);
    else if (v instanceof List<?> list) {
      sb.append('[');
      for (int i = 0; i < list.size(); i++) {
        if (i > 0) sb.append(',');
        write(list.get(i), sb);
      }
      sb.append(']');
    } else if (v instanceof Map<?, ?> map) {
      sb.append('{');
      boolean first = true;
      for (Map.Entry<?, ?> e : new TreeMap<>(map).entrySet()) {
        if (!first) sb.append(',');
        first = false;
        writeString((String) e.getKey(), sb);
        sb.append(':');
        write(e.getValue(), sb);
      }
      sb.append('}');
    } else throw new IllegalArgumentException("not JSON: " + v.getClass());
  }

  static void writeString(String s, StringBuilder sb) {
    sb.append('"');
    for (char c : s.toCharArray()) {
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\b' -> sb.append("\\b");
        case '\f' -> sb.append("\\f");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        default -> {
          if (c < 0x20 || c > 0x7e) sb.append(String.format("\\u%04x", (int) c));
          else sb.append(c);
        }
      }
    }
    sb.append('"');
  }

  /** A minimal JSON reader: objects, arrays, strings, numbers (kept as Num), true, false, null. */
  static final class Reader {
    private final String s;
    private int i;

    Reader(String s) {
      this.s = s;
    }

    Object value() {
      skip();
      char c = s.charAt(i);
      if (c == '{') return object();
      if (c == '[') return array();
      if (c == '"') return string();
      if (s.startsWith("true", i)) { i += 4; return true; }
      if (s.startsWith("false", i)) { i += 5; return false; }
      if (s.startsWith("null", i)) { i += 4; return null; }
      int start = i;
      while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) i++;
      if (start == i) throw new IllegalArgumentException("unexpected '" + c + "' at " + i);
      return new Num(s.substring(start, i));
    }

    private Map<String, Object> object() {
      Map<String, Object> out = new LinkedHashMap<>();
      i++;
      skip();
      if (s.charAt(i) == '}') { i++; return out; }
      for (;;) {
        skip();
        String k = string();
        skip();
        expect(':');
        out.put(k, value());
        skip();
        if (s.charAt(i) == '}') { i++; return out; }
        expect(',');
      }
    }

    private List<Object> array() {
      List<Object> out = new ArrayList<>();
      i++;
      skip();
      if (s.charAt(i) == ']') { i++; return out; }
      for (;;) {
        out.add(value());
        skip();
        if (s.charAt(i) == ']') { i++; return out; }
        expect(',');
      }
    }

    private String string() {
      expect('"');
      StringBuilder sb = new StringBuilder();
      for (char c = s.charAt(i++); c != '"'; c = s.charAt(i++)) {
        if (c != '\\') { sb.append(c); continue; }
        char e = s.charAt(i++);
        switch (e) {
          case 'b' -> sb.append('\b');
          case 'f' -> sb.append('\f');
          case 'n' -> sb.append('\n');
          case 'r' -> sb.append('\r');
          case 't' -> sb.append('\t');
          case 'u' -> { sb.append((char) Integer.parseInt(s.substring(i, i + 4), 16)); i += 4; }
          default -> sb.append(e);
        }
      }
      return sb.toString();
    }

    private void expect(char c) {
      if (s.charAt(i) != c) throw new IllegalArgumentException("expected '" + c + "' at " + i);
      i++;
    }

    private void skip() {
      while (i < s.length() && Character.isWhitespace(s.charAt(i))) i++;
    }
  }
}
