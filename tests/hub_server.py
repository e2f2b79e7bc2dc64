"""A local stand-in for the Hugging Face hub (point HF_ENDPOINT at it): the file layout that
huggingface_hub reads — HEAD/GET /<repo>/resolve/<rev>/<file> with the hub's X-Repo-Commit,
X-Linked-Etag (the SHA-256) and X-Linked-Size headers and Range support, and the tree listing
/api/models/<repo>/tree/<rev> — on 127.0.0.1 only.

A test can make the next file download stop part-way: `cut_after` closes the connection
after that many bytes (a dropped network); `hold_after` sends that many bytes, sets `held`
and waits for `release` (a download in progress, for the test to interrupt).
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlparse


@dataclass
class Repo:
    commit: str
    files: dict[str, bytes]
    served: dict[str, bytes] = field(default_factory=dict)  # what GET sends, if not files


@dataclass
class Request:
    method: str
    path: str
    range: str | None


class HubServer:
    def __init__(self) -> None:
        self.repos: dict[str, Repo] = {}
        self.requests: list[Request] = []
        self.cut_after: int | None = None
        self.hold_after: int | None = None
        self.held = threading.Event()
        self.release = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def add(self, repo_id: str, files: dict[str, bytes], commit: str = "c" * 40) -> Repo:
        self.repos[repo_id] = Repo(commit, files)
        return self.repos[repo_id]

    def downloads(self) -> list[Request]:
        return [r for r in self.requests if r.method == "GET" and "/resolve/" in r.path]

    def __enter__(self) -> HubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_HEAD(self) -> None:
                self._serve(body=False)

            def do_GET(self) -> None:
                self._serve(body=True)

            def _serve(self, body: bool) -> None:
                path = unquote(urlparse(self.path).path)
                hub.requests.append(Request(self.command, path, self.headers.get("Range")))
                tree = re.fullmatch(r"/api/models/(.+?)/tree/([^/]+)", path)
                if tree:
                    return self._tree(tree.group(1), body)
                resolve = re.fullmatch(r"/(.+?)/resolve/([^/]+)/(.+)", path)
                if not resolve:
                    return self._error(404, "RepoNotFound", body)
                repo = hub.repos.get(resolve.group(1))
                if repo is None:
                    return self._error(404, "RepoNotFound", body)
                file = resolve.group(3)
                if file not in repo.files:
                    return self._error(404, "EntryNotFound", body)
                self._file(repo, file, body)

            def _error(self, status: int, code: str, body: bool) -> None:
                payload = json.dumps({"error": code}).encode()
                self.send_response(status)
                self.send_header("X-Error-Code", code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if body:
                    self.wfile.write(payload)

            def _tree(self, repo_id: str, body: bool) -> None:
                repo = hub.repos.get(repo_id)
                if repo is None:
                    return self._error(404, "RepoNotFound", body)
                entries = [
                    {
                        "type": "file",
                        "path": name,
                        "size": len(data),
                        "oid": hashlib.sha1(data).hexdigest(),
                        "lfs": {
                            "oid": hashlib.sha256(data).hexdigest(),
                            "size": len(data),
                            "pointerSize": 134,
                        },
                    }
                    for name, data in repo.files.items()
                ]
                payload = json.dumps(entries).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if body:
                    self.wfile.write(payload)

            def _file(self, repo: Repo, file: str, body: bool) -> None:
                data = repo.files[file]
                sent = repo.served.get(file, data)
                start = 0
                wanted = self.headers.get("Range")
                if wanted:
                    start = int(re.fullmatch(r"bytes=(\d+)-", wanted).group(1))  # type: ignore[union-attr]
                self.send_response(206 if start else 200)
                self.send_header("X-Repo-Commit", repo.commit)
                self.send_header("X-Linked-Etag", f'"{hashlib.sha256(data).hexdigest()}"')
                self.send_header("X-Linked-Size", str(len(data)))
                self.send_header("ETag", f'"{hashlib.sha256(data).hexdigest()}"')
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("Content-Length", str(len(data) - start))
                if start:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.end_headers()
                if not body:
                    return
                part = sent[start:]
                if hub.cut_after is not None:
                    limit, hub.cut_after = hub.cut_after, None
                    self.wfile.write(part[:limit])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if hub.hold_after is not None:
                    limit, hub.hold_after = hub.hold_after, None
                    self.wfile.write(part[:limit])
                    self.wfile.flush()
                    hub.held.set()
                    hub.release.wait(60)
                    self.close_connection = True
                    return
                self.wfile.write(part)

        return Handler
