"""What the debug error page may show of the settings and the request: no secrets.

Django's own filter hides settings and request headers whose names look secret (KEY, TOKEN,
PASS...). This one also hides the connection URLs (DATABASE_URL, REDIS_URL, Q_CLUSTER's
"redis", TEMPO_RPC_URL), which carry passwords or API keys, whether they come as settings or as
environment variables in the request's META, and masks the password of any other URL that
holds one.
"""

import re

from django.views.debug import SafeExceptionReporterFilter

# user:password@ in scheme://user:password@host
URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^/:@\s]*:)[^@\s]*@", re.IGNORECASE)


class SecretsFilter(SafeExceptionReporterFilter):
    hidden_settings = re.compile(
        r"API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|DATABASE_URL|REDIS|DSN|RPC_URL",
        flags=re.IGNORECASE,
    )

    def cleanse_setting(self, key, value):
        cleansed = super().cleanse_setting(key, value)
        if isinstance(cleansed, str):
            return URL_PASSWORD.sub(rf"\g<head>{self.cleansed_substitute}@", cleansed)
        return cleansed
