"""The Content-Security-Policy middleware: django-csp's, with one allowance for the Django admin.

The app's own pages get the policy in settings (CONTENT_SECURITY_POLICY) as it is. The admin's
change lists write an inline <style> block and our ledger page inline style attributes, so under
/admin/ alone styles may also be inline; scripts stay as strict as everywhere (the admin's are
all files).
"""

from csp.middleware import CSPMiddleware
from django.urls import reverse

INLINE_STYLE = {"style-src": ["'self'", "'unsafe-inline'"]}


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    def get_policy_parts(self, request, response, report_only=False):
        parts = super().get_policy_parts(request, response, report_only)
        if request.path_info.startswith(reverse("admin:index")) and parts.replace is None:
            parts.replace = INLINE_STYLE
        return parts
