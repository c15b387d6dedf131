"""Chat frames, validated the same way on the messaging socket and on the call socket.

    client → server
      {"type": "chat.send", "client_id": "<8-64 of A-Za-z0-9_->", "body": "<1-4000 chars>"}
      {"type": "chat.sync", "after": <last sequence seen, 0 for all>}
      {"type": "chat.read", "seq": <highest sequence shown to the reader>}
      {"type": "chat.typing"}
    server → client
      {"type": "chat.ack", "client_id", "seq", "duplicate"}          (to the sender)
      {"type": "chat.message", "thread_id", "message": {seq, client_id, sender, sender_name,
                                                        body, sent_at}}  (to both)
      {"type": "chat.history", "thread_id", "messages": [...], "more": bool, "last_seq",
       "read": {"patient": n, "clinician": n}}
      {"type": "chat.receipt", "thread_id", "reader": "patient"|"clinician", "seq"}
      {"type": "chat.typing", "thread_id", "who"}
      {"type": "error", "code", "detail"[, "client_id"]}
"""

from .chat_models import MESSAGE_MAX_CHARS
from .signaling import FrameError, FrameType, _only_keys, register_frame

MAX_SEQ = 2**62


def _seq(frame: dict, name: str) -> int:
    value = frame.get(name)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < MAX_SEQ:
        raise FrameError("bad_shape", f"\"{name}\" must be a whole number of 0 or more.")
    return value


def validate_chat_send(frame: dict) -> dict:
    _only_keys(frame, {"type", "client_id", "body"})
    client_id = frame.get("client_id")
    body = frame.get("body")
    if not isinstance(client_id, str) or not 8 <= len(client_id) <= 64:
        raise FrameError("bad_client_id", "\"client_id\" must be a string of 8 to 64 characters.")
    if not isinstance(body, str):
        raise FrameError("bad_shape", "\"body\" must be a string.")
    if len(body) > MESSAGE_MAX_CHARS:
        raise FrameError("too_long", f"Messages are limited to {MESSAGE_MAX_CHARS} characters.")
    return {"type": "chat.send", "client_id": client_id, "body": body}


def validate_chat_sync(frame: dict) -> dict:
    _only_keys(frame, {"type", "after"})
    return {"type": "chat.sync", "after": _seq(frame, "after")}


def validate_chat_read(frame: dict) -> dict:
    _only_keys(frame, {"type", "seq"})
    return {"type": "chat.read", "seq": _seq(frame, "seq")}


def validate_chat_typing(frame: dict) -> dict:
    _only_keys(frame, {"type"})
    return {"type": "chat.typing"}


CHAT_FRAMES: dict[str, FrameType] = {
    "chat.send": FrameType(validate=validate_chat_send, handler="handle_chat_send"),
    "chat.sync": FrameType(validate=validate_chat_sync, handler="handle_chat_sync"),
    "chat.read": FrameType(validate=validate_chat_read, handler="handle_chat_read"),
    "chat.typing": FrameType(validate=validate_chat_typing, handler="handle_chat_typing"),
}


def register_chat_frames() -> None:
    """Add the chat frames to the call socket's table (signaling.FRAME_TYPES), once."""
    from .signaling import FRAME_TYPES

    for name, frame_type in CHAT_FRAMES.items():
        if name not in FRAME_TYPES:
            register_frame(name, validate=frame_type.validate, handler=frame_type.handler)


def parse_chat_frame(text: str | None, *, max_bytes: int) -> tuple[dict, FrameType]:
    """The messaging socket's parser: the call socket's checks, over the chat frames only."""
    import json

    if text is None:
        raise FrameError("binary_not_supported", "Send JSON text frames, not binary.")
    if len(text) > max_bytes or len(text.encode()) > max_bytes:
        raise FrameError("too_large", f"Frames are limited to {max_bytes} bytes.")
    try:
        frame = json.loads(text)
    except ValueError:
        raise FrameError("bad_json", "The frame is not valid JSON.") from None
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        raise FrameError("bad_shape", "A frame is a JSON object with a string \"type\".")
    frame_type = CHAT_FRAMES.get(frame["type"])
    if frame_type is None:
        raise FrameError("unknown_type", f"Unknown frame type {frame['type'][:40]!r}.")
    return frame_type.validate(frame), frame_type
