from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from telepsych import home
from telepsych.common.views import healthz

# The Django admin signs in through allauth, so staff MFA applies there too.
admin.site.login = secure_admin_login(admin.site.login)
admin.site.site_header = "telepsych clinic administration"
admin.site.site_title = "telepsych admin"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("help/", include("crisis.urls")),
    path("scheduling/", include("scheduling.urls")),
    path("visits/", include("sessions.urls")),
    path("records/", include("records.urls")),
    path("", home.home, name="home"),
    path("", include("accounts.urls")),
]

handler400 = "telepsych.common.views.bad_request"
handler403 = "telepsych.common.views.permission_denied"
handler404 = "telepsych.common.views.page_not_found"
handler500 = "telepsych.common.views.server_error"

