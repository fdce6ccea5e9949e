"""Opens raw and packet sockets, also from a user namespace of its own where the kernel
allows one, and sends an ICMP echo to the grading host with whatever opened."""

import ctypes
import json
import socket

CLONE_NEWUSER = 0x10000000
# ICMP echo request, id 1, sequence 1, no payload; the checksum is precomputed.
ECHO = bytes.fromhex("0800f7fd00010001")
targets = json.load(open("targets.json"))


def raw_sockets():
    outcomes = {}
    kinds = {
        "icmp": (socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP),
        "ip": (socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW),
        "packet": (socket.AF_PACKET, socket.SOCK_RAW, 0),
    }
    for name, kind in kinds.items():
        try:
            opened = socket.socket(*kind)
        except OSError as exc:
            outcomes[name] = type(exc).__name__
            continue
        outcomes[name] = "opened"
        if name == "icmp":
            for address in targets["host_addresses"]:
                try:
                    opened.sendto(ECHO, (address, 0))
                    outcomes[f"echo to {address}"] = "sent"
                except OSError as exc:
                    outcomes[f"echo to {address}"] = type(exc).__name__
        opened.close()
    return outcomes


observed = {"as_learner": raw_sockets()}
libc = ctypes.CDLL(None, use_errno=True)
if libc.unshare(CLONE_NEWUSER) == 0:
    observed["in_own_user_namespace"] = raw_sockets()
else:
    observed["in_own_user_namespace"] = "unshare refused"
print(json.dumps({"observed": observed}))
