"""A Web Push endpoint run as its own process by the tests (`python -m tests.push_endpoint
--port N --log FILE`): it plays the browser's push service and the browser at once.

- `POST /subscribe/<name>` makes a subscription: a fresh P-256 key pair and auth secret, kept
  here, answered as `PushSubscription.toJSON()` (`endpoint`, `keys.p256dh`, `keys.auth`).
- `POST /push/<name>` is a push: the VAPID JWT (RFC 8292, `Authorization: vapid t=…, k=…`) must
  be signed (ES256) by `k`, name this server as `aud`, expire within 24 hours and carry a `sub`;
  the body must decrypt (RFC 8291, aes128gcm) with the subscription's keys. Each push is logged
  as one JSON line: name, decrypted payload, `Topic`, `TTL` (or the reason it was refused).
- Names steer the answer: `gone-*` answers 410, `flaky-*` answers 500 the first time, `stall-*`
  holds the first push for 30 seconds (logged as `stalled`) and then refuses it with 503, as a
  push service that never accepted it: a sender can be killed mid-send.
"""

import argparse
import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

MAX_EXPIRY_SECONDS = 24 * 3600


def b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Endpoint:
    def __init__(self, log: Path, port: int) -> None:
        self.log = log
        self.origin = f"http://127.0.0.1:{port}"
        self.subscriptions: dict[str, tuple[ec.EllipticCurvePrivateKey, bytes]] = {}
        self.seen: set[str] = set()
        self.lock = threading.Lock()

    def subscribe(self, name: str) -> dict[str, Any]:
        key = ec.generate_private_key(ec.SECP256R1())
        auth = base64.urlsafe_b64encode(name.encode().ljust(16, b"."))[:16]
        self.subscriptions[name] = (key, auth)
        point = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
        return {
            "endpoint": f"{self.origin}/push/{name}",
            "keys": {"p256dh": b64encode(point), "auth": b64encode(auth)},
        }

    def verify_vapid(self, authorization: str) -> str | None:
        """Why the VAPID header is refused, or None when it is valid."""
        if not authorization.startswith("vapid "):
            return "no vapid authorization"
        fields = dict(part.strip().split("=", 1) for part in authorization[6:].split(","))
        header, claims, signature = fields["t"].split(".")
        public = ec.EllipticCurvePublicKey.from_encoded_point(
            ec.SECP256R1(), b64decode(fields["k"])
        )
        raw = b64decode(signature)
        der = encode_dss_signature(int.from_bytes(raw[:32]), int.from_bytes(raw[32:]))
        try:
            public.verify(der, f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return "bad signature"
        if json.loads(b64decode(header)).get("alg") != "ES256":
            return "not ES256"
        body = json.loads(b64decode(claims))
        if body.get("aud") != self.origin:
            return "wrong aud"
        if not time.time() < body.get("exp", 0) <= time.time() + MAX_EXPIRY_SECONDS:
            return "bad exp"
        if not str(body.get("sub", "")).startswith(("mailto:", "https:")):
            return "no sub"
        return None

    def record(self, entry: dict[str, Any]) -> None:
        with self.lock, self.log.open("a") as log:
            log.write(json.dumps(entry) + "\n")


def handler(endpoint: Endpoint) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return

        def answer(self, status: int, body: dict[str, Any] | None = None) -> None:
            data = json.dumps(body or {}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self.answer(200 if self.path == "/health" else 404, {"status": "ok"})

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            kind, _, name = self.path.strip("/").partition("/")
            if kind == "subscribe":
                self.answer(201, endpoint.subscribe(name))
                return
            if kind != "push" or name not in endpoint.subscriptions:
                self.answer(404)
                return
            if name.startswith("gone-"):
                endpoint.record({"name": name, "refused": "gone"})
                self.answer(410)
                return
            refused = endpoint.verify_vapid(self.headers.get("Authorization", ""))
            key, auth = endpoint.subscriptions[name]
            payload: Any = None
            if refused is None:
                try:
                    plain = http_ece.decrypt(
                        body, private_key=key, auth_secret=auth, version="aes128gcm"
                    )
                    payload = json.loads(plain)
                except Exception as exc:  # any failure to decrypt is a refusal, logged
                    refused = f"cannot decrypt: {type(exc).__name__}"
            if self.headers.get("Content-Encoding") != "aes128gcm":
                refused = refused or "not aes128gcm"
            if refused is not None:
                endpoint.record({"name": name, "refused": refused})
                self.answer(403)
                return
            with endpoint.lock:
                first = name not in endpoint.seen
                endpoint.seen.add(name)
            if name.startswith("flaky-") and first:
                endpoint.record({"name": name, "refused": "flaky"})
                self.answer(500)
                return
            if name.startswith("stall-") and first:
                endpoint.record({"name": name, "stalled": True})
                time.sleep(30)
                self.answer(503)
                return
            endpoint.record(
                {
                    "name": name,
                    "payload": payload,
                    "topic": self.headers.get("Topic"),
                    "ttl": self.headers.get("TTL"),
                }
            )
            self.answer(201)

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log", type=Path, required=True)
    args = parser.parse_args()
    endpoint = Endpoint(args.log, args.port)
    ThreadingHTTPServer(("127.0.0.1", args.port), handler(endpoint)).serve_forever()


if __name__ == "__main__":
    main()
