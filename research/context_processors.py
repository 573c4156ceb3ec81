from django.conf import settings


def gateway_mode(request):
    """Every page says whether money is real."""
    return {"sandbox_mode": settings.SANDBOX_MODE}
