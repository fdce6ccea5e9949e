"""Connects over TCP to the grading host and to the internet."""

import json
import os
import socket

targets = json.load(open("targets.json"))
tries = [(address, targets["tcp_port"]) for address in targets["host_addresses"]]
tries += [("1.1.1.1", 443), ("8.8.8.8", 53)]
outcomes = {}
for address, port in tries:
    try:
        socket.create_connection((address, port), timeout=2).close()
        outcomes[f"{address}:{port}"] = "connected"
    except OSError as exc:
        outcomes[f"{address}:{port}"] = type(exc).__name__
interfaces = sorted(os.listdir("/sys/class/net"))
print(json.dumps({"observed": {"connections": outcomes, "interfaces": interfaces}}))
