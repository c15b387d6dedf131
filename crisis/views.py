from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.selectors import regions_all

from .selectors import region_for_help


@require_GET
def get_help(request: HttpRequest) -> HttpResponse:
    """Works signed in or not, and without JavaScript."""
    region_code = request.GET.get("region", "")[:10] or None
    region = region_for_help(user=request.user, region_code=region_code)
    status = 404 if region_code and region is None else 200
    return render(
        request,
        "crisis/help.html",
        {"region": region, "regions": regions_all(), "unknown_region": status == 404},
        status=status,
    )
