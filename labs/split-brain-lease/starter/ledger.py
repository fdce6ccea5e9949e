"""The ledger: the store the leading replica appends invoices to, with the drill's audit.

It is a small HTTP service on 127.0.0.1:7070 (JSON in, JSON out):

    GET  /head     -> 200 {"seq": <seq of the last accepted append, 0 if none>,
                           "fence": <highest fence accepted so far, or null>}
    POST /append   {"writer": "a", "seq": 1041, "fence": 4127}
                   -> 200 {"entry": 812}                      accepted as entry 812
                   -> 409 {"error": "fenced", "fence": 4131}  refused: a higher fence was seen
                   -> 400 {"error": "..."}                    not an append

Fencing (Kleppmann's fencing tokens): an append whose `fence` is lower than the highest
fence the ledger has accepted is refused. An append without a fence is accepted as it
always was; the ledger is older than fencing and old clients still send none.

The audit is what the drill adds around the ledger: for every append it also asks etcd
who held the election key when the append arrived, and `judge` says whether the
ledger should have taken it.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from etcd_members import EtcdUnavailable, Holder

LEDGER_PORT = 7070
MAX_BODY_BYTES = 4096
MAX_WRITER_CHARS = 32
# How long a held append waits to be let go before it is answered anyway.
LONGEST_HOLD_S = 60.0

# What judge() calls an append.
OK = "ok"  # accepted from the replica holding the election key, fenced with its revision
DEPOSED = "deposed"  # accepted from a replica that did not hold the key at that moment
WRONG_FENCE = "wrong-fence"  # accepted from the holder, but not fenced with its revision
REFUSED = "refused"  # not accepted (fenced, or not an append): harmless
UNJUDGED = "unjudged"  # etcd could not be read when it arrived
VIOLATIONS = (DEPOSED, WRONG_FENCE)


@dataclass(frozen=True)
class Append:
    """One append the ledger received, what it did with it, and who held the key then."""

    at_s: float  # seconds since the audit started
    sender: str | None  # the replica that sent it (None: not one of the replicas)
    writer: object  # the "writer" field as sent
    seq: object
    fence: object
    status: str  # "accepted", "fenced" or "invalid"
    entry: int | None
    holder: Holder | None  # the election key when it arrived; None: no key
    holder_known: bool = True
    held: bool = False  # the drill delayed it on its way (a slow network)

    @property
    def verdict(self) -> str:
        return judge(self)

    def as_json(self) -> dict:
        holder = self.holder
        return {
            "at_s": round(self.at_s, 3),
            "sender": self.sender,
            "writer": self.writer,
            "seq": self.seq,
            "fence": self.fence,
            "status": self.status,
            "entry": self.entry,
            "holder": None
            if holder is None
            else {
                "value": holder.value,
                "create_revision": holder.create_revision,
                "lease": holder.lease,
            },
            "held": self.held,
            "verdict": self.verdict,
        }


def judge(append: Append) -> str:
    """Whether the ledger should have taken an append, from etcd's facts at its arrival.

    Taken from the replica whose name the election key held, under a live lease, with
    that key's create_revision as its fence: ok. Taken while the key was missing, had no
    lease or named another replica: deposed. Taken from the holder with any other fence,
    or none: wrong-fence.
    """
    if append.status != "accepted":
        return REFUSED
    if not append.holder_known:
        return UNJUDGED
    holder = append.holder
    if holder is None or holder.lease == 0 or holder.value != append.sender:
        return DEPOSED
    if append.fence != holder.create_revision:
        return WRONG_FENCE
    return OK


class LedgerBook:
    """The ledger's state and its one rule: refuse a fence lower than the highest seen."""

    def __init__(self) -> None:
        self.entries: list[dict] = []
        self.last_seq = 0
        self.highest_fence: int | None = None

    def head(self) -> dict:
        return {"seq": self.last_seq, "fence": self.highest_fence}

    def append(self, body: object) -> tuple[int, dict, str]:
        """(HTTP status, reply, status word) for one append request's JSON body."""
        problem = append_problem(body)
        if problem:
            return 400, {"error": problem}, "invalid"
        fence = body.get("fence")
        if fence is not None and self.highest_fence is not None and fence < self.highest_fence:
            return 409, {"error": "fenced", "fence": self.highest_fence}, "fenced"
        self.entries.append({"writer": body["writer"], "seq": body["seq"], "fence": fence})
        self.last_seq = body["seq"]
        if fence is not None:
            self.highest_fence = max(fence, self.highest_fence or fence)
        return 200, {"entry": len(self.entries)}, "accepted"


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def append_problem(body: object) -> str:
    """What is wrong with an append's body, or "" when it is one."""
    if not isinstance(body, dict):
        return 'expected a JSON object such as {"writer": "a", "seq": 1, "fence": 7}'
    writer = body.get("writer")
    if not isinstance(writer, str) or not 0 < len(writer) <= MAX_WRITER_CHARS:
        return f'"writer" must be the replica\'s name (1 to {MAX_WRITER_CHARS} characters)'
    if not _is_int(body.get("seq")):
        return '"seq" must be an integer'
    fence = body.get("fence")
    if fence is not None and not _is_int(fence):
        return '"fence" must be an integer or absent'
    return ""


class Trap:
    """The drill's slow network: holds the next append from the key's holder on its way.

    `arm` sets it; the append that falls in waits in `catch` until `release`, and the
    drill meanwhile does what it likes with its sender (the checker pauses it).
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.armed = False
        self.caught = threading.Event()
        self.released = threading.Event()
        self.answered = threading.Event()
        self.sender: str | None = None

    def arm(self) -> None:
        with self.lock:
            self.armed = True
            self.sender = None
            for event in (self.caught, self.released, self.answered):
                event.clear()

    def disarm(self) -> None:
        with self.lock:
            self.armed = False
        self.released.set()

    def catch(self, sender: str | None) -> bool:
        """Hold this append if the trap is armed; True once it was held and let go."""
        with self.lock:
            if not self.armed:
                return False
            self.armed = False
            self.sender = sender
        self.caught.set()
        self.released.wait(LONGEST_HOLD_S)
        return True


class Audit:
    """Everything the drill learns from the ledger: each append, judged against etcd.

    `holder_urls` gives the etcd members to read the election key from; `identify`
    names the replica behind a connection, from its address and the writer it claims.
    """

    def __init__(
        self,
        holder_urls: Callable[[], list[str]],
        identify: Callable[[tuple[str, int], object], str | None],
        read_holder: Callable[[list[str]], Holder | None],
    ) -> None:
        self.holder_urls = holder_urls
        self.identify = identify
        self.read_holder = read_holder
        self.started = time.monotonic()
        self.appends: list[Append] = []
        self.changed = threading.Condition()
        self.trap = Trap()

    def now_s(self) -> float:
        return time.monotonic() - self.started

    def holder(self) -> tuple[Holder | None, bool]:
        """(the election key now, whether etcd could be read at all)."""
        try:
            return self.read_holder(self.holder_urls()), True
        except EtcdUnavailable:
            return None, False

    def trap_wants(self, sender: str | None) -> bool:
        """Whether an armed trap should hold this append: it comes from the key's holder."""
        if not self.trap.armed or sender is None:
            return False
        holder, _ = self.holder()
        return holder is not None and holder.value == sender

    def record(self, append: Append) -> None:
        with self.changed:
            self.appends.append(append)
            self.changed.notify_all()

    def wait_for(self, condition: Callable[[list[Append]], bool], timeout_s: float) -> bool:
        """Wait until `condition(appends)` holds; False when the time ran out first."""
        with self.changed:
            return self.changed.wait_for(lambda: condition(self.appends), timeout_s)


class LedgerServer(ThreadingHTTPServer):
    """The ledger on 127.0.0.1:`port`, one thread per request; the book is locked."""

    daemon_threads = True

    def __init__(self, audit: Audit, port: int = LEDGER_PORT) -> None:
        self.audit = audit
        self.book = LedgerBook()
        self.book_lock = threading.Lock()
        super().__init__(("127.0.0.1", port), LedgerHandler)

    def serve_in_background(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05})
        thread.daemon = True
        thread.start()
        return thread

    def handle_append(self, client: tuple[str, int], body: object) -> tuple[int, dict, bool]:
        """(HTTP status, reply, whether the trap held it) for one append."""
        audit = self.audit
        writer = body.get("writer") if isinstance(body, dict) else None
        sender = audit.identify(client, writer)
        held = audit.trap_wants(sender) and audit.trap.catch(sender)
        with self.book_lock:
            holder, known = audit.holder()
            code, reply, status = self.book.append(body)
            fields = body if isinstance(body, dict) else {}
            audit.record(
                Append(
                    at_s=audit.now_s(),
                    sender=sender,
                    writer=writer,
                    seq=fields.get("seq"),
                    fence=fields.get("fence"),
                    status=status,
                    entry=reply.get("entry"),
                    holder=holder,
                    holder_known=known,
                    held=held,
                )
            )
        return code, reply, held


class LedgerHandler(BaseHTTPRequestHandler):
    server: LedgerServer

    def do_GET(self) -> None:
        if self.path != "/head":
            self._reply(404, {"error": "no such path; try GET /head or POST /append"})
            return
        with self.server.book_lock:
            head = self.server.book.head()
        self._reply(200, head)

    def do_POST(self) -> None:
        if self.path != "/append":
            self._reply(404, {"error": "no such path; try GET /head or POST /append"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 < length <= MAX_BODY_BYTES:
            self._reply(400, {"error": f"an append is a JSON body of 1 to {MAX_BODY_BYTES} bytes"})
            return
        try:
            body = json.loads(self.rfile.read(length))
        except ValueError:
            body = None
        code, reply, held = self.server.handle_append(self.client_address, body)
        self._reply(code, reply)
        if held:
            self.server.audit.trap.answered.set()

    def _reply(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """The audit keeps the record; no access log on stderr."""
