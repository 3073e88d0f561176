"""Per-address limits, in memory only: a token bucket for each network address.

A flood from one address runs dry after a burst and then gets a few requests a
minute, while everyone else is untouched. The address is needed for that and
for nothing else: it is never written to the database or a log, and even in
memory the buckets are keyed by a keyed hash of it (the key is made at start-up
and never leaves the process), so a memory dump does not list who sent what.
An IPv6 client counts by its /64 (the block one home or phone usually gets),
and also by its /56 and /48, whose buckets are 4 and 16 times larger: one
customer often holds a whole /56 or /48, so rotating through its /64s buys a
flooder at most 16 bursts, not 65,536. A request takes a token from each of its
buckets, and is refused when any of them is empty.

Behind a proxy every request comes from the proxy's address; the client's is in
X-Forwarded-For. That header is believed only when the request comes from one of
the configured trusted proxies, and then read from the right, skipping trusted
hops, so a client cannot pick its own bucket by sending the header itself.
"""

from __future__ import annotations

import hashlib
import ipaddress
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence

from starlette.types import Scope

MAX_TRACKED = 100_000  # buckets kept; the least recently used go first (a full bucket anyway)
# An IPv6 address's prefixes, each with its bucket's size (burst and rate) as a multiple.
IPV6_PREFIXES = ((64, 1), (56, 4), (48, 16))

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressLimits:
    def __init__(
        self,
        burst: int,
        per_minute: int,
        trusted_proxies: Sequence[str] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.burst = float(burst)
        self.rate = per_minute / 60.0
        self.trusted: tuple[Network, ...] = tuple(
            ipaddress.ip_network(p, strict=False) for p in trusted_proxies
        )
        self._clock = clock
        self._key = secrets.token_bytes(32)
        self._buckets: OrderedDict[bytes, tuple[float, float]] = OrderedDict()

    @property
    def active(self) -> bool:
        return self.rate > 0

    def allow(self, scope: Scope) -> bool:
        """Take a token from each of this request's buckets; False when one is empty."""
        return self.wait(scope) == 0.0

    def wait(self, scope: Scope) -> float:
        """Take a token from each of this request's buckets and answer 0.0; or, when one is
        empty, take none and answer the seconds until each has a token again."""
        if not self.active:
            return 0.0
        now = self._clock()
        filled = []
        for key, scale in self._bucket_keys(scope):
            tokens, last = self._buckets.pop(key, (self.burst * scale, now))
            rate = self.rate * scale
            filled.append((key, min(self.burst * scale, tokens + (now - last) * rate), rate))
        wait = max((1.0 - tokens) / rate for _, tokens, rate in filled)
        for key, tokens, _ in filled:
            self._buckets[key] = (tokens - 1.0 if wait <= 0 else tokens, now)
        while len(self._buckets) > MAX_TRACKED:
            self._buckets.popitem(last=False)
        return max(wait, 0.0)

    def client(self, scope: Scope) -> Address | None:
        """The client's address: the peer's, or (from a trusted proxy) the forwarded one."""
        peer = _address((scope.get("client") or ("",))[0])
        if peer is None or not self._trusted(peer):
            return peer
        forwarded = b",".join(
            value for name, value in scope.get("headers", ()) if name == b"x-forwarded-for"
        )
        hops = [_address(part.strip().decode("latin-1")) for part in forwarded.split(b",")]
        for hop in reversed(hops):
            if hop is None:
                return peer  # a garbled header: count the request against the proxy
            if not self._trusted(hop):
                return hop
        return peer

    def _trusted(self, address: Address) -> bool:
        return any(address in network for network in self.trusted)

    def _bucket_keys(self, scope: Scope) -> list[tuple[bytes, int]]:
        """The keyed hashes of this request's buckets, each with its size multiple."""
        address = self.client(scope)
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if address is None:
            named = [("unknown", 1)]
        elif address.version == 6:
            named = [
                (str(ipaddress.ip_network(f"{address}/{bits}", strict=False)), scale)
                for bits, scale in IPV6_PREFIXES
            ]
        else:
            named = [(str(address), 1)]
        return [
            (hashlib.blake2b(text.encode(), digest_size=16, key=self._key).digest(), scale)
            for text, scale in named
        ]


def _address(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None
