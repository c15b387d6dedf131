from django import template
from django.utils.translation import get_language

register = template.Library()


@register.simple_tag
def resource_name(resource) -> str:
    """The resource's name in the active language (Vietnamese when there is one)."""
    return resource.name_for(get_language() or "en")


@register.simple_tag
def resource_description(resource) -> str:
    return resource.description_for(get_language() or "en")


@register.filter
def hms(duration) -> str:
    """A timedelta as h:mm:ss (whole seconds); empty for None."""
    if duration is None:
        return ""
    seconds = int(duration.total_seconds())
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
