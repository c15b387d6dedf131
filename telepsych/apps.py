from django.apps import AppConfig


class TelepsychConfig(AppConfig):
    """The project itself, installed for its project-wide management commands (seed_demo)."""

    name = "telepsych"
    verbose_name = "telepsych"
