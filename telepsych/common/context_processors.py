from django.http import HttpRequest


def navigation(request: HttpRequest) -> dict:
    """The viewer's role, for the navigation in the base layout."""
    user = getattr(request, "user", None)
    role = getattr(user, "role", None) if user is not None and user.is_authenticated else None
    return {"viewer_role": role}
