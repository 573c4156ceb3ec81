"""The workspace's settings page: how a person hears that one of their jobs ended."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from ..forms import NotificationsForm
from ..models import Preferences


@login_required
def settings_page(request):
    preferences = Preferences.of(request.user)
    # An unticked box sends nothing: an empty POST is still a submitted form.
    form = NotificationsForm(request.POST if request.method == "POST" else None, instance=preferences)
    if request.method == "POST" and form.is_valid():
        form.save()
        state = "on" if form.cleaned_data["email_when_done"] else "off"
        messages.success(request, f"Saved: email when a job ends is {state}.")
        return redirect("research:settings")
    return TemplateResponse(request, "research/settings.html", {"form": form})
