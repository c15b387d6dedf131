"""Frames of the call socket: parsing, validation, and the type → handler table.

Every frame is a JSON object with a "type". A type is registered once with its validator
(which returns the cleaned frame or raises FrameError) and the consumer method name that
handles it; the messaging feature adds its chat frame types here without touching the
consumer's connection logic:

    register_frame("chat.send", validate=validate_chat_send, handler="handle_chat_send")
"""

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

MAX_FRAME_BYTES = 64 * 1024
PC_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class FrameError(Exception):
    """Answered with {"type": "error", "code": code, "detail": detail}; the socket stays open."""

    def __init__(self, code: str, detail: str):
        super().__init__(detail)
        self.code = code
        self.detail = detail

    def as_frame(self) -> dict:
        return {"type": "error", "code": self.code, "detail": self.detail}


@dataclass(frozen=True)
class FrameType:
    validate: Callable[[dict], dict]
    handler: str  # name of the consumer coroutine method: handler(frame) -> None


FRAME_TYPES: dict[str, FrameType] = {}


def register_frame(name: str, *, validate: Callable[[dict], dict], handler: str) -> None:
    if name in FRAME_TYPES:
        raise ValueError(f"frame type {name!r} is already registered")
    FRAME_TYPES[name] = FrameType(validate=validate, handler=handler)


def parse_frame(text: str | None, *, max_bytes: int = MAX_FRAME_BYTES) -> tuple[dict, FrameType]:
    """The cleaned frame and its registered type, or FrameError."""
    if text is None:
        raise FrameError("binary_not_supported", "Send JSON text frames, not binary.")
    if len(text) > max_bytes or (len(text) * 4 > max_bytes and len(text.encode()) > max_bytes):
        raise FrameError("too_large", f"Frames are limited to {max_bytes} bytes.")
    try:
        frame = json.loads(text)
    except ValueError:
        raise FrameError("bad_json", "The frame is not valid JSON.") from None
    if not isinstance(frame, dict):
        raise FrameError("bad_shape", "A frame is a JSON object with a \"type\".")
    kind = frame.get("type")
    if not isinstance(kind, str):
        raise FrameError("bad_shape", "A frame needs a string \"type\".")
    frame_type = FRAME_TYPES.get(kind)
    if frame_type is None:
        raise FrameError("unknown_type", f"Unknown frame type {kind[:40]!r}.")
    return frame_type.validate(frame), frame_type


# --- validators for the signaling frames -----------------------------------------------------

def _only_keys(frame: dict, allowed: set[str]) -> None:
    extra = set(frame) - allowed
    if extra:
        raise FrameError("bad_shape", f"Unexpected field {sorted(extra)[0][:40]!r} in {frame['type']!r}.")


def _pc_id(frame: dict, *, required: bool = True) -> str | None:
    value = frame.get("pc")
    if value is None and not required:
        return None
    if not isinstance(value, str) or not PC_ID.match(value):
        raise FrameError("bad_shape", "\"pc\" must be a short identifier of the peer connection.")
    return value


def _description(frame: dict) -> dict:
    _only_keys(frame, {"type", "sdp", "pc"})
    sdp = frame.get("sdp")
    if not isinstance(sdp, str) or not sdp.startswith("v=0") or len(sdp) > 60_000:
        raise FrameError("bad_shape", f"\"{frame['type']}\" needs an \"sdp\" session description.")
    return {"type": frame["type"], "sdp": sdp, "pc": _pc_id(frame)}


def validate_offer(frame: dict) -> dict:
    return _description(frame)


def validate_answer(frame: dict) -> dict:
    return _description(frame)


def validate_ice(frame: dict) -> dict:
    _only_keys(frame, {"type", "candidate", "pc"})
    candidate = frame.get("candidate", ...)
    if candidate is ...:
        raise FrameError("bad_shape", "\"ice\" needs a \"candidate\" (or null when gathering ends).")
    if candidate is not None:
        if not isinstance(candidate, dict):
            raise FrameError("bad_shape", "\"candidate\" must be an object or null.")
        extra = set(candidate) - {"candidate", "sdpMid", "sdpMLineIndex", "usernameFragment"}
        if extra:
            raise FrameError("bad_shape", "Unexpected field in \"candidate\".")
        line = candidate.get("candidate")
        mid = candidate.get("sdpMid")
        index = candidate.get("sdpMLineIndex")
        ufrag = candidate.get("usernameFragment")
        if not isinstance(line, str) or len(line) > 2048:
            raise FrameError("bad_shape", "\"candidate.candidate\" must be a string.")
        if mid is not None and (not isinstance(mid, str) or len(mid) > 64):
            raise FrameError("bad_shape", "\"candidate.sdpMid\" must be a short string or null.")
        if index is not None and (
            not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < 64
        ):
            raise FrameError("bad_shape", "\"candidate.sdpMLineIndex\" must be a small integer.")
        if ufrag is not None and (not isinstance(ufrag, str) or len(ufrag) > 256):
            raise FrameError("bad_shape", "\"candidate.usernameFragment\" must be a string.")
        candidate = {"candidate": line, "sdpMid": mid, "sdpMLineIndex": index,
                     "usernameFragment": ufrag}
    return {"type": "ice", "candidate": candidate, "pc": _pc_id(frame)}


def validate_bye(frame: dict) -> dict:
    _only_keys(frame, {"type", "pc"})
    return {"type": "bye", "pc": _pc_id(frame, required=False)}


STATE_FLAGS = ("audio_only", "muted", "camera_off")


def validate_state(frame: dict) -> dict:
    """A peer announces its peer connection id and media state."""
    _only_keys(frame, {"type", "pc", *STATE_FLAGS})
    cleaned = {"type": "state", "pc": _pc_id(frame)}
    for flag in STATE_FLAGS:
        value = frame.get(flag, False)
        if not isinstance(value, bool):
            raise FrameError("bad_shape", f"\"{flag}\" must be true or false.")
        cleaned[flag] = value
    return cleaned


register_frame("offer", validate=validate_offer, handler="handle_relay")
register_frame("answer", validate=validate_answer, handler="handle_relay")
register_frame("ice", validate=validate_ice, handler="handle_relay")
register_frame("bye", validate=validate_bye, handler="handle_relay")
register_frame("state", validate=validate_state, handler="handle_state")


class TokenBucket:
    """`rate` frames a second on average, bursts of up to `burst`."""

    def __init__(self, *, rate: float, burst: int):
        self.rate = rate
        self.burst = burst
        self.tokens = float(burst)
        self.updated = time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False
