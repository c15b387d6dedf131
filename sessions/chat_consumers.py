"""The messaging socket `/ws/messages/<thread_id>/`, and the chat handlers it shares with the
call socket (`ChatSocketMixin`).

Delivery is store-first: a `chat.send` is written (encrypted, sequenced, deduplicated by client
id) before anything is broadcast, and acknowledged only after commit. The channel layer may
drop a broadcast; the client then finds a gap and asks `chat.sync` for everything after the last
sequence it saw. Django middleware does not run here: `connect` checks role, MFA and thread
membership itself and closes with 4401 / 4403.
"""

import json
from functools import partial

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from telepsych.common.groups import thread_group

from . import chat_services
from .chat_frames import parse_chat_frame
from .chat_models import Thread
from .chat_selectors import (
    HISTORY_PAGE,
    ChatDenied,
    ThreadNotFound,
    chat_user_allowed,
    messages_after,
    thread_get_for_user,
)
from .chat_services import ChatError
from .signaling import FrameError, TokenBucket

CLOSE_NOT_SIGNED_IN = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_FLOOD = 4429
MAX_FRAME_BYTES = 64 * 1024

# Chat writes run in the worker pool, not channels' single database thread: one slow or locked
# thread must not hold up every socket in the process. Each call gets its own connection and
# waits on its thread's row lock only.
in_pool = partial(database_sync_to_async, thread_sensitive=False)


def _history(*, thread: Thread, after: int) -> dict:
    fresh = Thread.objects.get(pk=thread.pk)
    messages = messages_after(thread=thread, after_seq=after, limit=HISTORY_PAGE + 1)
    return {
        "type": "chat.history", "thread_id": thread.pk,
        "messages": [m.as_frame() for m in messages[:HISTORY_PAGE]],
        "more": len(messages) > HISTORY_PAGE, "last_seq": fresh.last_seq,
        "read": {"patient": fresh.patient_read_seq, "clinician": fresh.clinician_read_seq},
    }


class ChatSocketMixin:
    """Chat frame handlers for a consumer that knows (or can find) its thread.

    The host sets `self.chat_thread` with `chat_attach(thread)`, or overrides
    `chat_find_thread()` to find it on the first chat frame (the call socket does).
    """

    chat_thread: Thread | None = None

    async def chat_find_thread(self) -> Thread | None:
        return None

    async def chat_attach(self, thread: Thread) -> None:
        self.chat_thread = thread
        group = thread_group(thread.pk)
        await self.channel_layer.group_add(group, self.channel_name)
        self.groups.append(group)  # channels discards it on disconnect
        client = self.scope.get("client") or [None]
        await in_pool(chat_services.thread_read_audit)(
            thread=thread, user=self.scope["user"], ip=client[0]
        )

    async def chat_required(self) -> Thread:
        if self.chat_thread is None:
            thread = await self.chat_find_thread()
            if thread is None:
                raise FrameError("no_thread", "There is no conversation on this socket.")
            await self.chat_attach(thread)
        return self.chat_thread

    async def chat_send_frame(self, frame: dict) -> None:
        await self.send(text_data=json.dumps(frame))

    async def handle_chat_send(self, frame: dict) -> None:
        thread = await self.chat_required()
        try:
            result = await in_pool(chat_services.message_send)(
                thread=thread, sender=self.scope["user"], client_id=frame["client_id"],
                body=frame["body"],
            )
        except ChatError as error:
            await self.chat_send_frame({"type": "error", "code": error.code,
                                        "detail": str(error.detail),
                                        "client_id": frame["client_id"]})
            return
        await self.chat_send_frame({"type": "chat.ack", "thread_id": thread.pk,
                                    "client_id": frame["client_id"],
                                    "seq": result.message.seq, "duplicate": result.duplicate})

    async def handle_chat_sync(self, frame: dict) -> None:
        thread = await self.chat_required()
        history = await in_pool(_history)(thread=thread, after=frame["after"])
        await self.chat_send_frame(history)

    async def handle_chat_read(self, frame: dict) -> None:
        thread = await self.chat_required()
        try:
            await in_pool(chat_services.thread_mark_read)(
                thread=thread, user=self.scope["user"], seq=frame["seq"]
            )
        except ChatError as error:
            await self.chat_send_frame({"type": "error", "code": error.code,
                                        "detail": str(error.detail)})

    async def handle_chat_typing(self, frame: dict) -> None:
        thread = await self.chat_required()
        try:
            event = chat_services.typing_event(thread=thread, user=self.scope["user"],
                                               sender_channel=self.channel_name)
        except ChatError as error:
            await self.chat_send_frame({"type": "error", "code": error.code,
                                        "detail": str(error.detail)})
            return
        await self.channel_layer.group_send(thread_group(thread.pk), event)

    async def chat_event(self, event: dict) -> None:
        """A stored message, a read receipt or a typing hint, from the thread's group."""
        if event.get("sender") == self.channel_name:
            return  # our own typing hint
        try:
            await self.send(text_data=json.dumps(event["frame"]))
        except Exception:  # noqa: BLE001 - socket closed; the client replays on reconnect
            return


class ThreadConsumer(ChatSocketMixin, AsyncWebsocketConsumer):
    """`/ws/messages/<thread_id>/`: the messaging page's socket, for the thread's two people."""

    async def connect(self):
        # Accept at once, then check: the check waits for the database, and daphne drops
        # handshakes slower than its connect timeout. Frames wait until connect returns.
        self.allowed = False
        await self.accept()
        user = self.scope.get("user")
        thread_id = self.scope["url_route"]["kwargs"]["thread_id"]
        try:
            thread = await in_pool(self._thread_for)(user, thread_id)
        except ChatDenied as denied:
            await self.close(code=denied.code)
            return
        self.allowed = True
        self.budget = TokenBucket(rate=settings.TELEPSYCH_SIGNAL_RATE_PER_SECOND,
                                  burst=settings.TELEPSYCH_SIGNAL_BURST)
        self.refused = 0
        await self.chat_attach(thread)
        await self.chat_send_frame({"type": "chat.ready", "thread_id": thread.pk,
                                    "role": thread.role_of(user.pk),
                                    "last_seq": thread.last_seq})

    @staticmethod
    def _thread_for(user, thread_id: int) -> Thread:
        chat_user_allowed(user=user)
        try:
            return thread_get_for_user(user=user, thread_id=thread_id)
        except ThreadNotFound:
            raise ChatDenied(CLOSE_FORBIDDEN, "not a participant") from None

    async def receive(self, text_data=None, bytes_data=None):
        if not self.allowed:
            return
        if not self.budget.take():
            self.refused += 1
            if self.refused == 1:
                await self.chat_send_frame(FrameError("rate_limited",
                                                      "Too many frames; slow down.").as_frame())
            if self.refused >= settings.TELEPSYCH_SIGNAL_FLOOD_CLOSE_AFTER:
                await self.close(code=CLOSE_FLOOD)
            return
        self.refused = 0
        try:
            frame, frame_type = parse_chat_frame(text_data, max_bytes=MAX_FRAME_BYTES)
            await getattr(self, frame_type.handler)(frame)
        except FrameError as error:
            await self.chat_send_frame(error.as_frame())


class CallChatMixin(ChatSocketMixin):
    """For the call socket (`consumers.SignalingConsumer`): its chat is the thread of the call's
    patient and clinician, found on the first chat frame. The host has already checked that
    the user is a participant (`self.participant`)."""

    async def chat_find_thread(self) -> Thread | None:
        try:
            return await in_pool(chat_services.thread_for_call)(
                user=self.scope["user"], session_id=self.participant.session_id
            )
        except ThreadNotFound:
            return None
