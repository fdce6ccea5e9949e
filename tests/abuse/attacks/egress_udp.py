"""Sends UDP datagrams to the grading host, to the broadcast address and to the internet."""

import json
import socket

targets = json.load(open("targets.json"))
tries = [(address, targets["udp_port"]) for address in targets["host_addresses"]]
tries += [("255.255.255.255", targets["udp_port"]), ("1.1.1.1", 53)]
outcomes = {}
for address, port in tries:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
        sender.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        try:
            sender.sendto(b"escaped " + targets["token"].encode(), (address, port))
            outcomes[f"{address}:{port}"] = "sent"
        except OSError as exc:
            outcomes[f"{address}:{port}"] = type(exc).__name__
print(json.dumps({"observed": {"datagrams": outcomes}}))
