"""Helpers for the tests: users, and a throwaway HTTP server standing in for the notification service."""
import json
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from identity.models import Profile, User


def make_user(username, email=None, first_name="", phone=None, push_token=None):
    user = User.objects.create(
        username=username,
        email=f"{username}@example.com" if email is None else email,
        first_name=first_name,
        password="!",
        date_joined=datetime.now(),
    )
    if phone or push_token:
        Profile.objects.create(user=user, phone=phone, push_token=push_token)
    return user


class FakeService:
    """Records every request; answers with `status` and `reply` (JSON)."""

    def __init__(self, status=202, reply=None):
        self.status = status
        self.reply = reply if reply is not None else {"id": "n-1", "status": "queued"}
        self.requests = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fake.requests.append(
                    {
                        "method": self.command,
                        "path": self.path,
                        "headers": dict(self.headers),
                        "json": json.loads(body) if body else None,
                    }
                )
                payload = json.dumps(fake.reply).encode()
                self.send_response(fake.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
