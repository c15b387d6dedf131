"""Crisis pieces that appear on every page (base layout) and on the call page."""

from django import template

from accounts.models import User

from .. import selectors

register = template.Library()


@register.inclusion_tag("crisis/partials/page_alerts.html", takes_context=True)
def crisis_page_alerts(context) -> dict:
    """Patients with an unacknowledged event see the crisis panel on every page (the no-JS path);
    staff see the alerts waiting for them. Scripts listen for live `telepsych:notify` events."""
    request = context.get("request")
    user = getattr(request, "user", None)
    result = {"role": None, "request": request, "csrf_token": context.get("csrf_token")}
    if user is None or not user.is_authenticated:
        return result
    if user.role == User.Role.PATIENT:
        event = selectors.crisis_event_open_for_patient(patient=user)
        match = getattr(request, "resolver_match", None)
        on_help_page = match is not None and match.view_name == "crisis:help"
        if on_help_page:
            event = None  # the help page already shows everything the panel would
        result["on_help_page"] = on_help_page
        region = selectors.region_now_for(patient=user) if event else None
        result.update(role="patient", event=event, region=region,
                      resources=selectors.resources_for_region(region=region))
    elif user.is_staff_role:
        events = list(selectors.crisis_events_needing_attention(user=user))
        match = getattr(request, "resolver_match", None)
        if match is not None and match.view_name == "crisis:event":
            # That event's own page has the full acknowledgement form.
            events = [e for e in events if e.pk != match.kwargs.get("event_id")]
        result.update(role="staff", events=events)
    return result


@register.inclusion_tag("crisis/partials/call_tools_inner.html", takes_context=True)
def crisis_call_tools(context) -> dict:
    """The patient's panic button and "Get help now" panel inside the call (no page change)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    result = {"is_patient": False, "request": request, "csrf_token": context.get("csrf_token")}
    if user is not None and user.is_authenticated and user.role == User.Role.PATIENT:
        region = selectors.region_now_for(patient=user)
        result.update(is_patient=True, region=region,
                      resources=selectors.resources_for_region(region=region))
    return result
