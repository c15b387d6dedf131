from django.apps import AppConfig


class TherapySessionsConfig(AppConfig):
    # "sessions" is taken by django.contrib.sessions: this app's label is therapy_sessions.
    name = "sessions"
    label = "therapy_sessions"
    verbose_name = "Video sessions and messaging"
