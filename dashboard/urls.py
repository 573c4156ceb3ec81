from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from research.urls import spend_patterns

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="research:job_list"), name="home"),
    path("jobs/", include("research.urls")),
    path("spend/", include((spend_patterns, "spend"))),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
]
