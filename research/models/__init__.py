"""The domain's tables, one module per part: jobs, the leads they find, the money ledger, the audit trail."""

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
from .leads import Lead
from .ledger import BudgetCap, BudgetScope, BudgetWindow, Charge
from .people import Preferences

__all__ = [
    "ACTIVE_STATUSES",
    "RUNNING_STATUSES",
    "TERMINAL_STATUSES",
    "ApiToken",
    "AuditEvent",
    "BudgetCap",
    "BudgetScope",
    "BudgetWindow",
    "Charge",
    "Hold",
    "JobStatus",
    "JobWebhook",
    "Lead",
    "Preferences",
    "ResearchJob",
    "WebhookDelivery",
]
