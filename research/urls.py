from django.urls import path

from . import views

app_name = "research"

urlpatterns = [
    path("", views.job_list, name="job_list"),
    path("new/", views.job_new, name="job_new"),
    path("new/price/", views.job_price, name="job_price"),
    path("leads/", views.lead_list, name="lead_list"),
    path("leads/export.csv", views.lead_export, name="lead_export"),
    path("<int:pk>/", views.job_detail, name="job_detail"),
    path("<int:pk>/progress/", views.job_progress, name="job_progress"),
    path("<int:pk>/results/", views.job_results, name="job_results"),
    path("<int:pk>/export.csv", views.job_export, name="job_export"),
    path("<int:pk>/refresh/", views.job_refresh, name="job_refresh"),
    path("<int:pk>/cancel/", views.job_cancel, name="job_cancel"),
    path("<int:pk>/more/", views.job_more, name="job_more"),
]
