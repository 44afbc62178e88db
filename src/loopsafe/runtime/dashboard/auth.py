"""Who may see the dashboard: a token (header, query or the cookie it sets), an allow-list of
client addresses, or both. Anyone else gets 401/403 and no data."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Iterable
from http.cookies import CookieError, SimpleCookie
from urllib.parse import parse_qsl

from loopsafe._errors import ConfigError
from loopsafe.runtime._asgi import Scope

COOKIE = "loopsafe_dashboard"
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_allow(entries: Iterable[str] | str | None) -> tuple[Network, ...]:
    """``("127.0.0.1", "10.0.0.0/8", "::1")`` -> networks; a bad entry is a ConfigError."""
    if entries is None:
        return ()
    if isinstance(entries, str):  # one address given as a plain string, not its characters
        entries = (entries,)
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(str(entry).strip(), strict=False))
        except ValueError:
            raise ConfigError(
                f"dashboard_allow: {entry!r} is not an IP address or network (install()): "
                'use addresses or CIDR blocks, e.g. ("127.0.0.1", "10.0.0.0/8")'
            ) from None
    return tuple(networks)


class Access:
    """Decides per request. With a token, every request must carry it; with an allow-list, the
    client address must be in it; with both, both must hold."""

    def __init__(self, token: str | None, allow: tuple[Network, ...]) -> None:
        self.token = token.encode() if token else None
        self.allow = allow
        # The cookie holds a keyed hash of the token, not the token, so a leaked cookie does not
        # reveal a token that may be reused elsewhere; every worker with the token agrees on it.
        self.cookie_value = (
            hmac.new(self.token, b"loopsafe-dashboard-cookie", hashlib.sha256).hexdigest()
            if self.token
            else None
        )

    def check(self, scope: Scope) -> int:
        """200 when allowed; 401 when a token is needed and none came; 403 when refused."""
        if self.allow and not self._address_allowed(scope):
            return 403
        if self.token is None:
            return 200
        presented, from_cookie = self._presented(scope)
        if presented is None:
            return 401
        if from_cookie:
            ok = self.cookie_value is not None and hmac.compare_digest(
                presented.encode(), self.cookie_value.encode()
            )
        else:
            ok = hmac.compare_digest(presented.encode(), self.token)
        return 200 if ok else 403

    def query_token(self, scope: Scope) -> str | None:
        for key, value in parse_qsl(scope.get("query_string", b"").decode("latin-1")):
            if key == "token":
                return str(value)
        return None

    def _address_allowed(self, scope: Scope) -> bool:
        client = scope.get("client")
        if not client:
            return False
        try:
            address = ipaddress.ip_address(client[0])
        except ValueError:  # a unix socket peer, or no address at all
            return False
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return any(address in network for network in self.allow)

    def _presented(self, scope: Scope) -> tuple[str | None, bool]:
        """The credential the request carries, and whether it is the cookie."""
        cookie_header = None
        for name, value in scope.get("headers") or ():
            if name == b"authorization":
                scheme, _, credential = value.decode("latin-1").partition(" ")
                if scheme.lower() == "bearer" and credential.strip():
                    return credential.strip(), False
            elif name == b"x-loopsafe-token" and value:
                return value.decode("latin-1").strip(), False
            elif name == b"cookie":
                cookie_header = value.decode("latin-1")
        query = self.query_token(scope)
        if query:
            return query, False
        if cookie_header:
            cookies: SimpleCookie = SimpleCookie()
            try:
                cookies.load(cookie_header)
            except CookieError:
                return None, False
            if COOKIE in cookies:
                return cookies[COOKIE].value, True
        return None, False
