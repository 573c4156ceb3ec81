from django.conf import settings

from . import access, pricing


def gateway_mode(request):
    """Every page says whether money is real, and reads its prices from the one price table.

    `sees_spend` (whether the nav links the spend page) is asked only by pages that show the nav.
    """
    return {
        "sandbox_mode": settings.SANDBOX_MODE,
        "prices": pricing.for_templates(),
        "sees_spend": lambda: access.sees_spend(request.user),
    }
