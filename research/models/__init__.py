"""The domain's tables, one module per part: jobs, the leads and people they find, shortlists, saved
searches, the money ledger, the audit trail."""

from .api import ApiToken, JobWebhook, WebhookDelivery
from .audit import AuditEvent
from .jobs import (
    ACTIVE_STATUSES,
    RUNNING_STATUSES,
    TERMINAL_STATUSES,
    Hold,
    JobStatus,
    ResearchJob,
)
from .leads import JobCountry, Lead, Person
from .ledger import BudgetCap, BudgetScope, BudgetWindow, Charge
from .people import Preferences
from .searches import Cadence, SavedSearch
from .shortlists import ShortlistEntry, ShortlistStatus, ShortlistTag

__all__ = [
    "ACTIVE_STATUSES",
    "RUNNING_STATUSES",
    "TERMINAL_STATUSES",
    "ApiToken",
    "AuditEvent",
    "BudgetCap",
    "BudgetScope",
    "BudgetWindow",
    "Cadence",
    "Charge",
    "Hold",
    "JobCountry",
    "JobStatus",
    "JobWebhook",
    "Lead",
    "Person",
    "Preferences",
    "ResearchJob",
    "SavedSearch",
    "ShortlistEntry",
    "ShortlistStatus",
    "ShortlistTag",
    "WebhookDelivery",
]
