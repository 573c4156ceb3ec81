"""The app's pages: the workspace under /jobs/, the staff spend pages under /spend/."""

from django.urls import path

from .views import jobs, leads, notifications, spend

app_name = "research"

urlpatterns = [
    path("", jobs.job_list, name="job_list"),
    path("new/", jobs.job_new, name="job_new"),
    path("new/price/", jobs.job_price, name="job_price"),
    path("settings/", notifications.settings_page, name="settings"),
    path("leads/", leads.lead_list, name="lead_list"),
    path("leads/export.csv", leads.lead_export, name="lead_export"),
    path("<int:job_pk>/", jobs.job_detail, name="job_detail"),
    path("<int:job_pk>/progress/", jobs.job_progress, name="job_progress"),
    path("<int:job_pk>/export.csv", leads.job_export, name="job_export"),
    path("<int:job_pk>/refresh/", jobs.job_refresh, name="job_refresh"),
    path("<int:job_pk>/cancel/", jobs.job_cancel, name="job_cancel"),
    path("<int:job_pk>/more/", jobs.job_more, name="job_more"),
    path("<int:job_pk>/resume/", jobs.job_resume, name="job_resume"),
]

# Staff only: where the money went, and the wallet it came from.
spend_patterns = [
    path("", spend.spend_overview, name="overview"),
    path("wallet/", spend.wallet_status, name="wallet"),
    path("wallet/reconcile/", spend.wallet_reconcile, name="reconcile"),
]
