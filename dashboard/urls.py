from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from . import views

# Staff only: where the money went, and the wallet it came from.
spend_patterns = [
    path("", views.spend_overview, name="overview"),
    path("wallet/", views.wallet_status, name="wallet"),
    path("wallet/reconcile/", views.wallet_reconcile, name="reconcile"),
]

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="research:job_list"), name="home"),
    path("jobs/", include("research.urls")),
    path("spend/", include((spend_patterns, "spend"))),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
]
