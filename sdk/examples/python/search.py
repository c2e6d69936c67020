#!/usr/bin/env python3
"""A DCI sync search from Python with only `cryptography` and the standard library.

Gets a token (OAuth2 client credentials), signs the envelope the way OpenSPP does (Python's
json.dumps(sort_keys=True, separators=(",", ":")), ASCII-escaped), searches, and verifies the server's signed
answer against its JWKS.

Usage: DCI_CLIENT_ID=dcic_... DCI_CLIENT_SECRET=dcis_... \
         python3 search.py BASE_URL SENDER_ID KEY_ID KEY_FILE [ID_TYPE ID_VALUE]
Prints one JSON line: HTTP status, whether the answer verified, the kid it was signed with, the records.
"""
import base64
import datetime
import hashlib
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

MAX_WINDOW_S = 300  # the server's longest signature validity (expires - created)
SKEW_S = 60  # how far ahead of our clock `created` may be


def b64(data):
    return base64.b64encode(data).decode("ascii")


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def http(method, url, body=None, headers=None):
    """Returns (status, text) of a request; HTTP errors are answers too (the server explains them in the body)."""
    req = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as res:
            return res.status, res.read().decode("utf-8")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode("utf-8")


def get_token(base_url, client_id, client_secret):
    creds = b64(f"{client_id}:{client_secret}".encode())
    status, text = http("POST", f"{base_url}/oauth2/client/token", b"grant_type=client_credentials", {
        "Authorization": f"Basic {creds}",
        "Content-Type": "application/x-www-form-urlencoded",
    })
    if status != 200:
        raise SystemExit(f"token request failed: HTTP {status} {text}")
    return json.loads(text)["access_token"]


def signing_string(created, expires, canonical):
    digest = b64(hashlib.sha256(canonical.encode("utf-8")).digest())
    return f"(created): {created}\n(expires): {expires}\ndigest: {digest}".encode("utf-8")


def sign_envelope(header, message, sender_id, key_id, private_key):
    """The DCI `signature` string over {header, message} in OpenSPP's canonical form."""
    alg = "ed25519" if isinstance(private_key, ed25519.Ed25519PrivateKey) else "rsa-sha256"
    canonical = json.dumps({"header": header, "message": message}, sort_keys=True, separators=(",", ":"))
    created = int(time.time())
    expires = created + MAX_WINDOW_S
    data = signing_string(created, expires, canonical)
    if alg == "ed25519":
        sig = private_key.sign(data)
    else:
        sig = private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    return (f'namespace="dci", kidId="{sender_id}|{key_id}|{alg}", algorithm="{alg}", created="{created}", '
            f'expires="{expires}", headers="(created) (expires) digest", signature="{b64(sig)}"')


class Literal(str):
    """A JSON number kept as written: the server hashed its text, and float() would rewrite 1e-7 as 1e-07."""


def canonical_json(value):
    """Sorted keys, no whitespace, ASCII-escaped strings, numbers as written: the server's signing form."""
    if isinstance(value, dict):
        return "{" + ",".join(json.dumps(k) + ":" + canonical_json(value[k]) for k in sorted(value)) + "}"
    if isinstance(value, list):
        return "[" + ",".join(canonical_json(v) for v in value) + "]"
    if isinstance(value, Literal):
        return str(value)
    return json.dumps(value)


def verify_answer(base_url, text):
    """Verifies the server's signed answer with the key its kidId names in the server's JWKS; returns the kid."""
    body = json.loads(text, parse_float=Literal, parse_int=Literal)
    params = dict(part.strip().split("=", 1) for part in body["signature"].split(","))
    params = {k: v.strip('"') for k, v in params.items()}
    created, expires = int(params["created"]), int(params["expires"])
    now = int(time.time())
    if now > expires or created > now + SKEW_S or expires - created > MAX_WINDOW_S:
        raise SystemExit("the answer's signature is outside its validity window")
    status, jwks_text = http("GET", f"{base_url}/.well-known/jwks.json")
    jwk = next((k for k in json.loads(jwks_text)["keys"] if k["kid"] == params["kidId"]), None)
    if jwk is None:
        raise SystemExit(f"kid {params['kidId']} is not in the server's JWKS")
    data = signing_string(created, expires, canonical_json({"header": body["header"], "message": body["message"]}))
    sig = base64.b64decode(params["signature"])
    if jwk["kty"] == "OKP":
        ed25519.Ed25519PublicKey.from_public_bytes(b64url_decode(jwk["x"])).verify(sig, data)
    else:
        numbers = rsa.RSAPublicNumbers(int.from_bytes(b64url_decode(jwk["e"]), "big"),
                                       int.from_bytes(b64url_decode(jwk["n"]), "big"))
        numbers.public_key().verify(sig, data, padding.PKCS1v15(), hashes.SHA256())  # raises if it does not match
    return params["kidId"]


def main():
    base_url, sender_id, key_id, key_file = sys.argv[1:5]
    id_type, id_value = (sys.argv[5:7] + ["UIN", "TEST-001"][len(sys.argv[5:7]):])
    with open(key_file, "rb") as f:
        private_key = serialization.load_pem_private_key(f.read(), password=None)
    token = get_token(base_url, os.environ["DCI_CLIENT_ID"], os.environ["DCI_CLIENT_SECRET"])
    now = datetime.datetime.now(datetime.timezone.utc).isoformat()
    header = {
        "version": "1.0.0", "message_id": str(uuid.uuid4()), "message_ts": now, "action": "search",
        "sender_id": sender_id, "total_count": 1, "is_msg_encrypted": False,
    }
    message = {"transaction_id": str(uuid.uuid4()), "search_request": [{
        "reference_id": str(uuid.uuid4()), "timestamp": now,
        "search_criteria": {"reg_type": "ns:org:RegistryType:Social", "query_type": "idtype-value",
                            "query": {"type": id_type, "value": id_value}},
    }]}
    envelope = {"signature": sign_envelope(header, message, sender_id, key_id, private_key),
                "header": header, "message": message}
    status, text = http("POST", f"{base_url}/registry/sync/search", json.dumps(envelope).encode("utf-8"), {
        "Authorization": f"Bearer {token}", "Content-Type": "application/json",
    })
    if status != 200:
        raise SystemExit(f"search failed: HTTP {status} {text}")
    kid = verify_answer(base_url, text)
    item = json.loads(text)["message"]["search_response"][0]
    print(json.dumps({"status": status, "verified": True, "kid": kid, "item_status": item["status"],
                      "records": item.get("data", {}).get("reg_records", [])}))


if __name__ == "__main__":
    main()
