"""A scripted OpenAI-compatible chat server on 127.0.0.1, for fault tests of `predict --server`.

Each request's page is known by its image width (the tests make pages of distinct widths). `script[width]`
lists what to do on the 1st, 2nd, ... request for that page (the last entry repeats): "ok", "length"
(answer cut by max_tokens), "500", "stall" (answer after `stall_s`), "drop" (close the connection without
an answer), "garbage" (200 but not JSON), "badgzip" (a body that is not the gzip it claims), "noschema" (JSON without choices), "badcontent" (content not a
string), or a float: answer "ok" after that many seconds. The answer to page W x H is "page WxH".
"""
from __future__ import annotations

import base64
import io
import json
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def page_size(body: dict) -> tuple[int, int]:
    from PIL import Image

    url = body["messages"][0]["content"][0]["image_url"]["url"]
    with Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))) as im:
        return im.size


class StubServer:
    def __init__(self, script: dict | None = None, stall_s: float = 3.0, models=("stub-model",)):
        self.script = dict(script or {})
        self.stall_s = stall_s
        self.models = list(models)
        self.attempts: Counter = Counter()  # width -> requests received
        self.answered: list[int] = []  # widths, in the order their answers were sent
        self.bodies: list[dict] = []
        self.headers: list[dict] = []
        self.lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def _send(self, status: int, payload: bytes, ctype: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                try:
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up on a stalled answer
                    self.close_connection = True

            def do_GET(self):
                with stub.lock:
                    stub.headers.append(dict(self.headers))
                if self.path.rstrip("/") == "/v1/models":
                    self._send(200, json.dumps({"object": "list", "data": [{"id": m} for m in stub.models]}).encode())
                else:
                    self._send(404, b'{"error": "not found"}')

            def do_POST(self):
                try:
                    body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                except ValueError:  # a client killed while sending
                    self.close_connection = True
                    return
                width, height = page_size(body)
                with stub.lock:
                    stub.bodies.append(body)
                    stub.headers.append(dict(self.headers))
                    stub.attempts[width] += 1
                    steps = stub.script.get(width, ["ok"])
                    action = steps[min(stub.attempts[width], len(steps)) - 1]
                if isinstance(action, (int, float)):
                    time.sleep(action)
                    action = "ok"
                if action == "stall":
                    time.sleep(stub.stall_s)
                    action = "ok"
                if action == "drop":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if action == "500":
                    return self._send(500, b'{"error": "engine overloaded"}')
                if action == "garbage":
                    return self._send(200, b"<html>proxy error</html>", "text/html")
                if action == "badgzip":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Encoding", "gzip")
                    self.send_header("Content-Length", "9")
                    self.end_headers()
                    self.wfile.write(b"not gzip!")
                    return
                if action == "noschema":
                    return self._send(200, b'{"object": "error", "message": "oops"}')
                content = 42 if action == "badcontent" else f"\npage {width}x{height}\n"
                finish = "length" if action == "length" else "stop"
                answer = {"id": "x", "object": "chat.completion", "model": body["model"],
                          "choices": [{"index": 0, "finish_reason": finish,
                                       "message": {"role": "assistant", "content": content}}],
                          "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}
                with stub.lock:
                    stub.answered.append(width)
                self._send(200, json.dumps(answer).encode())

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "StubServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
