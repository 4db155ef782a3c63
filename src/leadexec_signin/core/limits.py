"""Counting an event against a rate limit, and refusing it when the limit is reached: the one
step every endpoint with a limit takes (token exchanges, revocations, introspection)."""

from __future__ import annotations

import ipaddress
from typing import Protocol

from leadexec_signin.core.errors import RateLimited


class Counter(Protocol):
    """What counting against a limit needs of a rate limiter: only ``hit``."""

    def hit(self, limit: str, *key: str) -> int | None: ...


def count_or_refuse(limiter: Counter, limit: str, *key: str) -> None:
    wait = limiter.hit(limit, *key)
    if wait is not None:
        raise RateLimited(retry_after=wait)


def address_block(ip: str) -> str:
    """The key an address is counted under where anyone can spend the server's resources by
    asking (registrations, document fetches): an IPv6 address by its /64, which is what one
    customer line or one cloud instance is given (counting each of its 2**64 addresses apart
    would be no limit at all); an IPv4 address by itself. Anything else is kept as it is."""
    try:
        parsed = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)
