"""ICE servers for a call: STUN from settings, and TURN with short-lived credentials computed
with coturn's shared-secret REST scheme (`use-auth-secret` / `static-auth-secret`)."""

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class TurnCredential:
    username: str
    credential: str
    expires_at: int


def turn_credential_for(*, user_id: int, secret: str, ttl_seconds: int,
                        now: float | None = None) -> TurnCredential:
    """username = "<unix expiry>:<user id>", password = base64(HMAC-SHA1(secret, username))."""
    expires_at = int(now if now is not None else time.time()) + ttl_seconds
    username = f"{expires_at}:{user_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return TurnCredential(username=username, credential=base64.b64encode(digest).decode(),
                          expires_at=expires_at)


def ice_servers_for(*, user_id: int, now: float | None = None) -> list[dict]:
    """The RTCPeerConnection `iceServers` for one participant. Empty with nothing configured:
    a call on one LAN (or loopback) still connects with host candidates."""
    servers: list[dict] = []
    if settings.TELEPSYCH_STUN_URLS:
        servers.append({"urls": list(settings.TELEPSYCH_STUN_URLS)})
    if settings.TELEPSYCH_TURN_URLS and settings.TELEPSYCH_TURN_SECRET:
        credential = turn_credential_for(
            user_id=user_id, secret=settings.TELEPSYCH_TURN_SECRET,
            ttl_seconds=settings.TELEPSYCH_TURN_TTL_SECONDS, now=now,
        )
        servers.append({"urls": list(settings.TELEPSYCH_TURN_URLS),
                        "username": credential.username, "credential": credential.credential})
    return servers
