"""Who is at the other end of a loopback connection, on Linux: the uid that owns its socket.

/proc/net/tcp lists every IPv4 TCP socket of this network namespace with the uid
of its owner. The peer's socket is the row whose local address is the desk's
remote one and whose remote address is the desk's local one. Elsewhere (macOS,
Windows) there is no such table; the desk then cannot tell users apart.
"""

from __future__ import annotations

import os
import socket
import struct
import sys
from pathlib import Path

from starlette.types import Scope

PROC_TCP = Path("/proc/net/tcp")


def supported() -> bool:
    return sys.platform.startswith("linux") and PROC_TCP.exists()


def peer_uid(peer: tuple[str, int], local: tuple[str, int]) -> int | None:
    """The uid owning the socket at `peer` connected to `local`; None if there is none."""
    wanted = (_hex(peer), _hex(local))
    with PROC_TCP.open(encoding="ascii") as table:
        next(table)  # the column names
        for line in table:
            fields = line.split()
            if len(fields) > 7 and (fields[1], fields[2]) == wanted:
                return int(fields[7])
    return None


def same_user(scope: Scope) -> bool:
    """True only when the request's connection comes from a socket of this process's user."""
    client, server = scope.get("client"), scope.get("server")
    if not client or not server:
        return False
    try:
        uid = peer_uid((client[0], int(client[1])), (server[0], int(server[1])))
    except (OSError, ValueError):
        return False
    return uid == os.getuid()


def _hex(address: tuple[str, int]) -> str:
    """An address as /proc/net/tcp writes it: the IPv4 word in host byte order, then the port."""
    host, port = address
    (word,) = struct.unpack("=I", socket.inet_aton(host))
    return f"{word:08X}:{port:04X}"
