"""What every provider simulator shares: the HTTP server, picking the answer to a send,
keeping what was accepted, receipt pushes (the answers and records themselves are in
:mod:`simulators.answers`, access tokens in :mod:`simulators.tokens`).

A simulator is a real HTTP server on 127.0.0.1 (stdlib ``ThreadingHTTPServer`` in a
daemon thread) so the unmodified SDKs talk to it over the wire. Tests and the
simulation harness tell it what to answer (``configure``), read what it accepted
(``messages``, ``calls``) and learn which receipt each message will get
(``receipt_for``), either to deliver it themselves in skipped time or to let the
simulator push it to a callback URL in real time, as the platforms do.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

from simulators.answers import Answer, AnswerLike, CallRecord, MessageRecord


@dataclass
class Request:
    method: str
    path: str  # without the query string
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8")) if self.body else {}


@dataclass
class Response:
    body: bytes
    status: int = 200
    content_type: str = "application/json"
    delay: float = 0.0
    reset: bool = False  # close the connection without answering


def json_response(obj: Any, content_type: str = "application/json", delay: float = 0.0) -> Response:
    body = json.dumps(obj, ensure_ascii=False).encode("utf-8")
    return Response(body=body, content_type=content_type, delay=delay)


Route = Callable[[Request], Response]


class _Handler(BaseHTTPRequestHandler):
    simulator: ClassVar[ProviderSimulator]

    def _serve(self) -> None:
        sim = self.simulator
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urllib.parse.urlsplit(self.path)
        request = Request(
            method=self.command,
            path=url.path,
            query=dict(urllib.parse.parse_qsl(url.query)),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        release = sim._release  # a reset or stop ends every hold at once
        response = sim._dispatch(request)
        if response.delay:
            release.wait(response.delay)
        if response.reset:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: tests read ``calls`` instead


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that timed out and left are expected here


class ProviderSimulator:
    """Base of the three simulators: server lifecycle, answers, records, receipts."""

    name: ClassVar[str] = "provider"
    default_receipt: ClassVar[str | None] = None
    pushes_receipts: ClassVar[bool] = True  # False: the platform has no delivery callback

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._release = threading.Event()
        self._timers: list[threading.Timer] = []
        self.timeout_hold = 30.0  # how long "timeout" holds a connection (ended by reset/stop)
        self.callback_url: str | None = None
        self.pushes: list[tuple[str, int | str]] = []  # (provider_ref, HTTP status or error)
        self._clear()

    def _clear(self) -> None:
        self._default = Answer()
        self._per_recipient: dict[str, Answer] = {}
        self._per_call: deque[Answer] = deque()
        self._messages: list[MessageRecord] = []
        self.calls: list[CallRecord] = []
        self.pushes = []
        self._reset_state()

    # --- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        """Serve on 127.0.0.1, on a free port, in a daemon thread."""
        if self._server is not None:
            return
        handler = type(f"{type(self).__name__}Handler", (_Handler,), {"simulator": self})
        self._release = threading.Event()
        self._server = _Server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},  # so stop() returns quickly
            name=f"sim-{self.name}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving, end held connections and cancel pending receipt pushes."""
        self._release.set()
        self._cancel_timers()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{self.name} simulator is not running")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    # --- configuration and inspection ------------------------------------------------

    def configure(
        self,
        *,
        default: AnswerLike | None = None,
        per_recipient: Mapping[str, AnswerLike] | None = None,
        per_call: Sequence[AnswerLike] | None = None,
        callback_url: str | None = None,
        timeout_hold: float | None = None,
    ) -> None:
        """Set what to answer: ``per_call`` answers are used in turn, one per send, then
        the recipient's (openid / phone / external_userid), then ``default``.
        ``callback_url`` turns on real-time receipt pushes."""
        with self._lock:
            if default is not None:
                self._default = self.coerce(Answer.of(default))
            if per_recipient is not None:
                self._per_recipient.update(
                    {k: self.coerce(Answer.of(v)) for k, v in per_recipient.items()}
                )
            if per_call is not None:
                self._per_call.extend(self.coerce(Answer.of(a)) for a in per_call)
            if callback_url is not None:
                self.callback_url = callback_url
            if timeout_hold is not None:
                self.timeout_hold = timeout_hold

    def coerce(self, answer: Answer) -> Answer:
        """Check that an answer is one this provider can give (ValueError if not)."""
        return answer

    def reset(self) -> None:
        """Forget answers, messages, calls and pushes; release held connections."""
        with self._lock:
            self._release.set()
            self._release = threading.Event()
            self._cancel_timers()
            self.callback_url = None
            self._clear()

    def _reset_state(self) -> None:
        """Provider-specific state (tokens, templates) to forget on reset."""

    @property
    def messages(self) -> list[MessageRecord]:
        """Every message accepted so far, oldest first (a copy)."""
        with self._lock:
            return list(self._messages)

    def call_count(self, path_suffix: str) -> int:
        """How many requests hit a path ending with ``path_suffix`` (e.g. ``stable_token``)."""
        with self._lock:
            return sum(1 for c in self.calls if c.path.endswith(path_suffix))

    def receipt_for(self, provider_ref: str) -> tuple[str, float] | None:
        """The delivery status a message will get and its delay, or None if none follows."""
        with self._lock:
            for record in self._messages:
                if record.provider_ref == str(provider_ref) and record.receipt is not None:
                    return record.receipt, record.receipt_after
        return None

    # --- for subclasses --------------------------------------------------------------

    def routes(self) -> dict[tuple[str, str], Route]:
        raise NotImplementedError

    def _dispatch(self, request: Request) -> Response:
        with self._lock:
            self.calls.append(CallRecord(request.method, request.path, time.time()))
        route = self.routes().get((request.method, request.path))
        if route is None:
            return self._not_found(request)
        return route(request)

    def _not_found(self, request: Request) -> Response:
        return json_response({"errcode": 404, "errmsg": f"no such path {request.path}"})

    def _answer_for(self, recipient: str) -> Answer:
        with self._lock:
            if self._per_call:
                return self._per_call.popleft()
            return self._per_recipient.get(recipient, self._default)

    def _answers_for(self, recipients: Sequence[str]) -> list[Answer]:
        """One answer per recipient of a single request; a ``per_call`` answer covers all."""
        with self._lock:
            if self._per_call:
                answer = self._per_call.popleft()
                return [answer for _ in recipients]
            return [self._per_recipient.get(r, self._default) for r in recipients]

    def _record(self, record: MessageRecord, answer: Answer, receipt: bool = True) -> MessageRecord:
        """Keep an accepted message, plan its receipt (unless the kind of message gets none)
        and push it after ``answer.after`` seconds if a callback URL is set."""
        status = answer.receipt if answer.receipt is not None else self.default_receipt
        if not receipt or (status is not None and status.lower() == "none"):
            status = None
        record.receipt = status
        record.receipt_after = answer.after
        with self._lock:
            self._messages.append(record)
            if record.receipt is not None and self.callback_url and self.pushes_receipts:
                timer = threading.Timer(answer.after, self._push_safely, args=(record,))
                timer.daemon = True
                self._timers.append(timer)
                timer.start()
        return record

    def _shape(self, response: Response, answer: Answer) -> Response:
        """Apply the answer's timing to an accepted send: late, held or dropped."""
        response.delay = answer.delay(self.timeout_hold)
        response.reset = answer.result == "reset"
        return response

    def _push_safely(self, record: MessageRecord) -> None:
        url = self.callback_url
        if url is None:
            return
        try:
            status: int | str = self.push(url, record)
        except urllib.error.HTTPError as exc:
            status = exc.code
        except OSError as exc:
            status = f"{type(exc).__name__}: {exc}"
        with self._lock:
            self.pushes.append((record.provider_ref, status))

    def push(self, url: str, record: MessageRecord) -> int:
        """POST the record's receipt to ``url`` the way the platform does; the HTTP status."""
        raise NotImplementedError

    def _cancel_timers(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers = []


def post(url: str, body: bytes, content_type: str, timeout: float = 5.0) -> int:
    """POST ``body`` and return the HTTP status (used for receipt pushes)."""
    req = urllib.request.Request(url, data=body, method="POST")
    req.add_header("Content-Type", content_type)
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        resp.read()
        return int(resp.status)
