"""A webhook receiver for trying the registry's webhooks locally; prints each verified event.

    python -m tools.webhook_receiver --port 9000 --secret demo-secret-0123456789

It checks `X-Registry-Signature` the way a real receiver should (HMAC-SHA256 of the raw body
with the shared secret, compared in constant time) and answers 204, or 401 when the
signature does not match. Only for local use: it serves plain HTTP on the loopback address.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def make_handler(secret: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            signature = self.headers.get("X-Registry-Signature", "")
            valid = hmac.compare_digest(expected, signature)
            document = json.loads(body or b"{}")
            print(
                json.dumps(
                    {
                        "event": self.headers.get("X-Registry-Event"),
                        "delivery": self.headers.get("X-Registry-Delivery"),
                        "attempt": self.headers.get("X-Registry-Attempt"),
                        "signature_valid": valid,
                        "data": document.get("data"),
                    }
                ),
                flush=True,
            )
            self.send_response(204 if valid else 401)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass  # the event line above is the log

    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--secret", required=True, help="The subscription's signing secret.")
    options = parser.parse_args(argv)
    server = ThreadingHTTPServer(("127.0.0.1", options.port), make_handler(options.secret))
    print(f"Listening on http://127.0.0.1:{options.port}/", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
