"""What each person chooses for themselves: their columns, whether they get email when a job ends."""

from django.conf import settings
from django.db import models


class Preferences(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preferences"
    )
    # Column keys of the results table and the CSV (`research.exports`); empty means the default.
    columns = models.JSONField(default=list, blank=True)
    email_when_done = models.BooleanField(
        default=True,
        help_text="Email me when one of my jobs completes, fails, is cancelled or pauses for budget.",
    )

    class Meta:
        verbose_name_plural = "preferences"

    def __str__(self):
        return f"Preferences of {self.user}"

    @classmethod
    def columns_of(cls, user):
        """The person's column choice, without creating their preferences (a page read writes nothing)."""
        return cls.objects.filter(user=user).values_list("columns", flat=True).first() or []

    @classmethod
    def of(cls, user):
        """The person's preferences, created with the defaults the first time they are read."""
        return cls.objects.get_or_create(user=user)[0]
