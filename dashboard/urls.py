from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.utils.functional import lazy
from django.views.generic import RedirectView

from research.api import api
from research.urls import account_patterns, spend_patterns

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="research:job_list"), name="home"),
    # Browsers ask for it on pages that name no icon (the admin's). Lazy: the static files
    # manifest (DEBUG off) is read at the first request, not when the URLs are loaded.
    path("favicon.ico", RedirectView.as_view(url=lazy(static, str)("img/favicon.svg"), permanent=True)),
    path("jobs/", include("research.urls")),
    path("spend/", include((spend_patterns, "spend"))),
    path("account/", include((account_patterns, "account"))),
    path("api/v1/", api.urls),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
]
