"""A stand-in for a three-member etcd cluster, for machines without etcd: NOT etcd.

    python3 drill.py --fake-etcd

It answers the few calls of etcd's v3 JSON gateway that replica.py and the drill make
(kv range, put, deleterange and txn; lease grant, keepalive, revoke, timetolive and
leases; /health and maintenance status), with etcd's JSON shapes (int64 values as
strings, keys and values base64), on the same three ports. A "member" being restarted
is its port closed for a while; the data is one store in this process, so nothing is
replicated and there are no elections. Leases expire a TTL after their last keepalive,
checked every 100 ms.

It is enough to see the split brain happen. It is not enough to trust a fix: the
checker always runs real etcd, where a restarted leader extends every lease, a member
without a leader makes requests wait, and errors come back as etcd sends them.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from etcd_members import CLIENT_PORTS, MEMBERS, client_url

MIN_TTL_S = 1
EXPIRY_CHECK_S = 0.1


def _decode(text: str) -> str:
    return base64.b64decode(text or "").decode(errors="replace")


def _encode(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


class NotFound(Exception):
    """What etcd answers with 404: "etcdserver: requested lease not found"."""


class FakeStore:
    """The keys, their revisions and the leases: one copy shared by every "member"."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.revision = 1
        self.keys: dict[str, dict] = {}
        self.leases: dict[int, dict] = {}  # id -> {"ttl": s, "expires": monotonic}
        self.next_lease = 7587869542124000000

    def header(self, member: str) -> dict:
        return {
            "cluster_id": "1",
            "member_id": str(MEMBERS.index(member) + 1),
            "revision": str(self.revision),
            "raft_term": "2",
        }

    # -- keys -----------------------------------------------------------------------------

    def _selected(self, key: str, range_end: str | None) -> list[str]:
        if range_end is None:
            return [key] if key in self.keys else []
        if range_end == "\0":
            return sorted(k for k in self.keys if k >= key)
        return sorted(k for k in self.keys if key <= k < range_end)

    def range(self, request: dict) -> dict:
        key, end = _decode(request.get("key", "")), request.get("range_end")
        names = self._selected(key, None if end is None else _decode(end))
        return {"kvs": [self._kv(name) for name in names], "count": str(len(names))}

    def _kv(self, name: str) -> dict:
        entry = self.keys[name]
        return {
            "key": _encode(name),
            "create_revision": str(entry["create"]),
            "mod_revision": str(entry["mod"]),
            "version": str(entry["version"]),
            "value": _encode(entry["value"]),
            "lease": str(entry["lease"]),
        }

    def put(self, request: dict) -> dict:
        key, lease = _decode(request.get("key", "")), int(request.get("lease") or 0)
        if lease and lease not in self.leases:
            raise NotFound("etcdserver: requested lease not found")
        self.revision += 1
        old = self.keys.get(key)
        self.keys[key] = {
            "value": _decode(request.get("value", "")),
            "create": old["create"] if old else self.revision,
            "mod": self.revision,
            "version": old["version"] + 1 if old else 1,
            "lease": lease,
        }
        return {}

    def delete_range(self, request: dict) -> dict:
        key, end = _decode(request.get("key", "")), request.get("range_end")
        names = self._selected(key, None if end is None else _decode(end))
        if names:
            self.revision += 1
            for name in names:
                del self.keys[name]
        return {"deleted": str(len(names))}

    def txn(self, request: dict) -> dict:
        succeeded = all(self._holds(compare) for compare in request.get("compare", []))
        operations = request.get("success" if succeeded else "failure", [])
        responses = []
        for operation in operations:
            if "requestPut" in operation:
                responses.append({"response_put": self.put(operation["requestPut"])})
            elif "requestRange" in operation:
                responses.append({"response_range": self.range(operation["requestRange"])})
            elif "requestDeleteRange" in operation:
                deleted = self.delete_range(operation["requestDeleteRange"])
                responses.append({"response_delete_range": deleted})
        return {"succeeded": succeeded, "responses": responses}

    def _holds(self, compare: dict) -> bool:
        entry = self.keys.get(_decode(compare.get("key", "")))
        target = compare.get("target", "VERSION")
        fields = {
            "CREATE": ("createRevision", entry["create"] if entry else 0),
            "MOD": ("modRevision", entry["mod"] if entry else 0),
            "VERSION": ("version", entry["version"] if entry else 0),
            "LEASE": ("lease", entry["lease"] if entry else 0),
            "VALUE": ("value", entry["value"] if entry else None),
        }
        name, actual = fields[target]
        wanted = compare.get(name, 0)
        if target == "VALUE":
            wanted = _decode(wanted or "")
        else:
            wanted = int(wanted or 0)
        result = compare.get("result", "EQUAL")
        if actual is None:
            return False
        return {
            "EQUAL": actual == wanted,
            "NOT_EQUAL": actual != wanted,
            "GREATER": actual > wanted,
            "LESS": actual < wanted,
        }[result]

    # -- leases ---------------------------------------------------------------------------

    def grant(self, request: dict) -> dict:
        ttl = max(int(request.get("TTL") or 0), MIN_TTL_S)
        self.next_lease += 1
        self.leases[self.next_lease] = {"ttl": ttl, "expires": time.monotonic() + ttl}
        return {"ID": str(self.next_lease), "TTL": str(ttl)}

    def keepalive(self, request: dict) -> dict:
        lease_id = int(request.get("ID") or 0)
        lease = self.leases.get(lease_id)
        if lease is None:
            return {"result": {"ID": str(lease_id)}}
        lease["expires"] = time.monotonic() + lease["ttl"]
        return {"result": {"ID": str(lease_id), "TTL": str(lease["ttl"])}}

    def revoke(self, request: dict) -> dict:
        lease_id = int(request.get("ID") or 0)
        if lease_id not in self.leases:
            raise NotFound("etcdserver: requested lease not found")
        self._drop_lease(lease_id)
        return {}

    def time_to_live(self, request: dict) -> dict:
        lease_id = int(request.get("ID") or 0)
        lease = self.leases.get(lease_id)
        left = -1 if lease is None else max(0, round(lease["expires"] - time.monotonic()))
        return {"ID": str(lease_id), "TTL": str(left)}

    def list_leases(self, _request: dict) -> dict:
        return {"leases": [{"ID": str(lease_id)} for lease_id in self.leases]}

    def _drop_lease(self, lease_id: int) -> None:
        del self.leases[lease_id]
        attached = [name for name, entry in self.keys.items() if entry["lease"] == lease_id]
        if attached:
            self.revision += 1
            for name in attached:
                del self.keys[name]

    def expire(self) -> None:
        now = time.monotonic()
        with self.lock:
            for lease_id in [i for i, lease in self.leases.items() if lease["expires"] <= now]:
                self._drop_lease(lease_id)


ROUTES = {
    "/v3/kv/range": FakeStore.range,
    "/v3/kv/put": FakeStore.put,
    "/v3/kv/deleterange": FakeStore.delete_range,
    "/v3/kv/txn": FakeStore.txn,
    "/v3/lease/grant": FakeStore.grant,
    "/v3/lease/keepalive": FakeStore.keepalive,
    "/v3/lease/revoke": FakeStore.revoke,
    "/v3/lease/timetolive": FakeStore.time_to_live,
    "/v3/lease/leases": FakeStore.list_leases,
}


class FakeMember(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, store: FakeStore, member: str) -> None:
        self.store = store
        self.member = member
        super().__init__(("127.0.0.1", CLIENT_PORTS[member]), FakeHandler)
        threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()


class FakeHandler(BaseHTTPRequestHandler):
    server: FakeMember

    def do_GET(self) -> None:
        if self.path == "/health":
            self._reply(200, {"health": "true"})
        else:
            self._reply(404, {"error": "not found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        try:
            request = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self._reply(400, {"error": "bad JSON", "message": "bad JSON", "code": 3})
            return
        store, member = self.server.store, self.server.member
        if self.path == "/v3/maintenance/status":
            self._reply(200, {"header": store.header(member), "version": "fake", "leader": "1"})
            return
        route = ROUTES.get(self.path.replace("/v3beta/", "/v3/"))
        if route is None:
            self._reply(404, {"error": "Not Found", "message": "Not Found", "code": 5})
            return
        with store.lock:
            try:
                reply = route(store, request)
            except NotFound as error:
                self._reply(404, {"error": str(error), "message": str(error), "code": 5})
                return
            header = store.header(member)
        if "result" in reply:
            reply["result"]["header"] = header
        else:
            reply["header"] = header
        self._reply(200, reply)

    def _reply(self, code: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        """Quiet: the drill prints what matters."""


class FakeCluster:
    """The drill's cluster methods (see etcd_members.EtcdMembers), on the stand-in."""

    def __init__(self) -> None:
        self.store = FakeStore()
        self.members: dict[str, FakeMember] = {}
        self.closed = threading.Event()

    def start_all(self) -> None:
        for member in MEMBERS:
            self.start(member)
        threading.Thread(target=self._expire_leases, daemon=True).start()

    def _expire_leases(self) -> None:
        while not self.closed.wait(EXPIRY_CHECK_S):
            self.store.expire()

    def up_urls(self) -> list[str]:
        return [client_url(member) for member in MEMBERS if member in self.members]

    def stop(self, member: str) -> None:
        server = self.members.pop(member, None)
        if server is not None:
            server.shutdown()
            server.server_close()

    def start(self, member: str) -> None:
        if member not in self.members:
            self.members[member] = FakeMember(self.store, member)

    def wait_healthy(self, member: str, timeout_s: float) -> bool:
        return member in self.members

    def close(self) -> None:
        self.closed.set()
        for member in list(self.members):
            self.stop(member)
