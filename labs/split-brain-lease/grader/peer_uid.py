"""Who is at the other end of a loopback TCP connection: the uid owning its socket.

/proc/net/tcp lists every TCP socket of the network namespace with the uid that owns
it. The checker names the replica behind a connection to the ledger from there, from
outside the replica's process, whatever the replica writes in its requests: each
replica runs under a uid of its own.
"""

from __future__ import annotations

from pathlib import Path

TCP_TABLE = Path("/proc/net/tcp")
LOOPBACK_HEX = "0100007F"  # 127.0.0.1 as /proc/net/tcp writes it (little-endian)


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.partition(":")
    return host, int(port, 16)


def socket_owners(table: str) -> dict[tuple[int, int], int]:
    """(local port, remote port) -> owner uid, for the loopback sockets of a table in
    the format of /proc/net/tcp."""
    owners = {}
    for line in table.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 8:
            continue
        (local_host, local_port), (remote_host, remote_port) = map(_address, fields[1:3])
        if local_host == LOOPBACK_HEX and remote_host == LOOPBACK_HEX:
            owners[(local_port, remote_port)] = int(fields[7])
    return owners


def socket_owner(client_port: int, server_port: int) -> int | None:
    """The uid owning the client end (127.0.0.1:client_port) of a connection to
    127.0.0.1:server_port; None when no such socket is listed."""
    try:
        table = TCP_TABLE.read_text()
    except OSError:
        return None
    return socket_owners(table).get((client_port, server_port))
