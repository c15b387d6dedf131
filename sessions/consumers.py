"""Websockets of the sessions app: the call socket (signaling) and the two notify sockets.

Django middleware does not run for websockets, so every consumer checks the user's role (and
staff MFA) itself in `connect`, accepts, and closes at once with 4401 (not signed in) or 4403
(not allowed) so the browser learns why and stops retrying.
"""

import json
from collections import defaultdict

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings

from accounts.models import User
from accounts.selectors import user_has_mfa
from telepsych.common.groups import clinician_group, patient_group, session_group

from . import services
from .chat_consumers import CallChatMixin
from .chat_frames import register_chat_frames
from .selectors import SignalingDenied, signaling_participant, video_session_state
from .signaling import FrameError, TokenBucket, parse_frame

CLOSE_NOT_SIGNED_IN = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_FLOOD = 4429
CLOSE_ENDED = 4000
CLOSE_REPLACED = 4409  # the same person opened the call in another tab or device

# Same-process fast path: the call sockets of each room open in this process. When the other
# participant is here too, a frame goes straight to its socket instead of through the channel
# layer (whose Python code is the ceiling, see ARCHITECTURE.md); otherwise through the group.
_LOCAL_ROOMS: dict[str, set["SignalingConsumer"]] = defaultdict(set)


def in_thread(func):
    """Database work in the executor's threads, in parallel, rather than Channels' one shared
    thread: a burst of connects (a clinic at 9:00) is then not served one at a time."""
    return database_sync_to_async(func, thread_sensitive=False)


# In-call chat rides this socket: its frames join the dispatch table (handlers: CallChatMixin).
register_chat_frames()


class SignalingConsumer(CallChatMixin, AsyncWebsocketConsumer):
    """`/ws/sessions/<uuid>/`: one per open call page. Frames are dispatched by type through
    `signaling.FRAME_TYPES`; signaling frames are relayed to the other participant."""

    participant = None
    was_replaced = False

    async def connect(self):
        # Accept at once and check afterwards: the check waits for the database, and daphne
        # drops handshakes slower than its connect timeout. Frames wait until connect returns.
        await self.accept()
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=CLOSE_NOT_SIGNED_IN)
            return
        session_id = self.scope["url_route"]["kwargs"]["session_id"]
        self.group = session_group(session_id)
        # Into the group before reading the state, so an admission in between is not missed.
        await self.channel_layer.group_add(self.group, self.channel_name)
        try:
            participant, state = await in_thread(self.join_session)(user, session_id)
        except SignalingDenied as denied:
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await self.close(code=denied.code)
            return
        self.participant = participant
        self.role = participant.role
        self.live = state == "live"
        self.bucket = TokenBucket(rate=settings.TELEPSYCH_SIGNAL_RATE_PER_SECOND,
                                  burst=settings.TELEPSYCH_SIGNAL_BURST)
        self.refused = 0
        self.audio_only = False
        # One socket per participant: the newest page wins, older ones (another tab) close.
        for other in [c for c in _LOCAL_ROOMS.get(self.group, ()) if c.role == self.role]:
            await other.replaced()
        await self.channel_layer.group_send(
            self.group, {"type": "signal.takeover", "sender": self.channel_name,
                         "role": self.role})
        _LOCAL_ROOMS[self.group].add(self)
        await self.send(text_data=json.dumps({"type": "session", "state": state,
                                              "role": self.role}))
        await self.relay({"type": "peer", "status": "joined", "role": self.role})

    def join_session(self, user, session_id) -> tuple:
        """Access check and the join record in one trip to the database."""
        participant = signaling_participant(user=user, session_id=session_id)
        if participant.role == "patient":
            session = services.video_session_patient_arrived(
                session_id=participant.session_id, patient=user, channel_name=self.channel_name
            )
            return participant, session.state
        services.session_event_record(session_id=participant.session_id, user=user,
                                      kind="joined")
        return participant, participant.state

    async def disconnect(self, code):
        if self.participant is None:
            return
        room = _LOCAL_ROOMS.get(self.group)
        if room is not None:
            room.discard(self)
            if not room:
                del _LOCAL_ROOMS[self.group]
        if not self.was_replaced:  # a newer page of the same person is still in the call
            await self.relay({"type": "peer", "status": "left", "role": self.role})
        await self.channel_layer.group_discard(self.group, self.channel_name)
        await in_thread(services.video_session_participant_left)(
            session_id=self.participant.session_id, user=self.scope["user"],
            channel_name=self.channel_name,
        )

    async def receive(self, text_data=None, bytes_data=None):
        if self.participant is None:
            return
        if not self.bucket.take():
            self.refused += 1
            if self.refused == 1:
                await self.send_error(FrameError("rate_limited", "Too many frames; slow down."))
            if self.refused >= settings.TELEPSYCH_SIGNAL_FLOOD_CLOSE_AFTER:
                await self.close(code=CLOSE_FLOOD)
            return
        self.refused = 0
        try:
            frame, frame_type = parse_frame(
                text_data, max_bytes=settings.TELEPSYCH_SIGNAL_MAX_FRAME_BYTES
            )
            await getattr(self, frame_type.handler)(frame)
        except FrameError as error:
            await self.send_error(error)

    async def send_error(self, error: FrameError) -> None:
        await self.send(text_data=json.dumps(error.as_frame()))

    # --- frame handlers (named in signaling.FRAME_TYPES) ---------------------------------------

    async def require_live(self) -> None:
        if not self.live:
            state = await in_thread(video_session_state)(
                session_id=self.participant.session_id
            )
            self.live = state == "live"
        if not self.live:
            raise FrameError("not_live", "The call has not started: wait to be admitted.")

    async def handle_relay(self, frame: dict) -> None:
        await self.require_live()
        await self.relay(frame)

    async def handle_state(self, frame: dict) -> None:
        await self.require_live()
        if frame["audio_only"] and not self.audio_only:
            await in_thread(services.session_audio_only_record)(
                session_id=self.participant.session_id, user=self.scope["user"]
            )
        self.audio_only = frame["audio_only"]
        await self.relay(frame)

    # --- delivery --------------------------------------------------------------------------

    async def relay(self, frame: dict) -> None:
        """To the other participant: directly when its socket is in this process, else
        through the session's channel-layer group (another daphne process)."""
        text = json.dumps(frame)
        if settings.TELEPSYCH_SIGNAL_FAST_PATH:
            peers = [c for c in _LOCAL_ROOMS.get(self.group, ()) if c.role != self.role]
            if peers:
                for peer in peers:
                    await peer.deliver(text)
                return
        await self.channel_layer.group_send(
            self.group,
            {"type": "signal.relay", "sender": self.channel_name, "role": self.role,
             "text": text},
        )

    async def deliver(self, text: str) -> None:
        try:
            await self.send(text_data=text)
        except Exception:  # noqa: BLE001 - the socket closed under us; the frame is transient
            return

    async def signal_relay(self, event: dict) -> None:
        if event["sender"] == self.channel_name or event["role"] == self.role:
            return
        await self.deliver(event["text"])

    async def signal_takeover(self, event: dict) -> None:
        if event["sender"] != self.channel_name and event["role"] == self.role:
            await self.replaced()

    async def replaced(self) -> None:
        if self.participant is None or self.was_replaced:
            return
        self.was_replaced = True
        room = _LOCAL_ROOMS.get(self.group)
        if room is not None:
            room.discard(self)  # frames for this role now go to the newer socket only
        await self.close(code=CLOSE_REPLACED)

    async def session_state(self, event: dict) -> None:
        """Pushed by services after commit: admitted (live) or ended."""
        self.live = event["state"] == "live"
        await self.deliver(json.dumps({"type": "session", "state": event["state"],
                                       "role": self.role}))
        if event["state"] == "ended":
            await self.close(code=CLOSE_ENDED)


class NotifyConsumer(AsyncWebsocketConsumer):
    """Realtime notifications for one person: forwards each `notify.event` as one JSON frame."""

    async def connect(self):
        self.group = None
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.accept()
            await self.close(code=CLOSE_NOT_SIGNED_IN)
            return
        if not await database_sync_to_async(self.allowed)(user):
            await self.accept()
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.group = self.group_for(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        await self.send(text_data=json.dumps(
            {"type": "error", "code": "read_only", "detail": "This socket only sends."}
        ))

    async def notify_event(self, event: dict) -> None:
        await self.send(text_data=json.dumps(event["event"]))

    def allowed(self, user: User) -> bool:
        raise NotImplementedError

    def group_for(self, user_id: int) -> str:
        raise NotImplementedError


class ClinicianNotifyConsumer(NotifyConsumer):
    """`/ws/clinician/`: clinicians and clinic admins who have enrolled MFA."""

    def allowed(self, user: User) -> bool:
        return (user.is_active and user.role in (User.Role.CLINICIAN, User.Role.CLINIC_ADMIN)
                and user_has_mfa(user=user))

    def group_for(self, user_id: int) -> str:
        return clinician_group(user_id)


class PatientNotifyConsumer(NotifyConsumer):
    """`/ws/patient/`: patients."""

    def allowed(self, user: User) -> bool:
        return user.is_active and user.role == User.Role.PATIENT

    def group_for(self, user_id: int) -> str:
        return patient_group(user_id)
