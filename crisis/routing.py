# Crisis has no socket of its own: its realtime events (crisis.panel, crisis.alert,
# crisis.acknowledged) travel over the notify sockets of the sessions app (/ws/patient/ and
# /ws/clinician/), addressed by the group names in telepsych.common.groups.
websocket_urlpatterns: list = []
