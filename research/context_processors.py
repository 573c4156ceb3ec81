from django.conf import settings

from . import pricing


def gateway_mode(request):
    """Every page says whether money is real, and reads its prices from the one price table."""
    return {"sandbox_mode": settings.SANDBOX_MODE, "prices": pricing.for_templates()}
