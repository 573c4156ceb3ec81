"""The app's pages: the workspace under /jobs/, the staff spend pages under /spend/, a person's
own settings under /account/."""

from django.urls import path

from .views import jobs, leads, notifications, searches, shortlists, spend, tokens

app_name = "research"

urlpatterns = [
    path("", jobs.job_list, name="job_list"),
    path("new/", jobs.job_new, name="job_new"),
    path("new/price/", jobs.job_price, name="job_price"),
    path("settings/", notifications.settings_page, name="settings"),
    path("leads/", leads.lead_list, name="lead_list"),
    path("leads/export.csv", leads.lead_export, name="lead_export"),
    path("leads/<int:lead_pk>/", leads.lead_detail, name="lead_detail"),
    path("columns/", leads.columns_save, name="columns_save"),
    path("people/<int:person_pk>/shortlist/", shortlists.shortlist_update, name="shortlist_update"),
    path("shortlist/bulk/", shortlists.shortlist_bulk, name="shortlist_bulk"),
    path("searches/", searches.search_list, name="search_list"),
    path("searches/new/", searches.search_new, name="search_new"),
    path("searches/<int:search_pk>/", searches.search_detail, name="search_detail"),
    path("searches/<int:search_pk>/pause/", searches.search_pause, name="search_pause"),
    path("searches/<int:search_pk>/delete/", searches.search_delete, name="search_delete"),
    path("searches/<int:search_pk>/run/", searches.search_run, name="search_run"),
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

# A person's own: their API tokens.
account_patterns = [
    path("tokens/", tokens.token_list, name="tokens"),
    path("tokens/<int:token_pk>/revoke/", tokens.token_revoke, name="token_revoke"),
]
