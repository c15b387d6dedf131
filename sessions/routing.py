from django.urls import path

from . import chat_consumers, consumers

websocket_urlpatterns = [
    path("ws/sessions/<uuid:session_id>/", consumers.SignalingConsumer.as_asgi()),
    path("ws/clinician/", consumers.ClinicianNotifyConsumer.as_asgi()),
    path("ws/patient/", consumers.PatientNotifyConsumer.as_asgi()),
    path("ws/messages/<int:thread_id>/", chat_consumers.ThreadConsumer.as_asgi()),
]
