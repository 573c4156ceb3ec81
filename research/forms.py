from django import forms

from . import pricing
from .models import Preferences


class NewJobForm(forms.Form):
    query = forms.CharField(
        label="Who are you looking for?",
        max_length=2000,
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": "VPs of sales at Series B fintechs in Berlin"}
        ),
    )
    limit = forms.IntegerField(
        label="Number of results",
        min_value=pricing.MIN_RESULTS,
        max_value=pricing.MAX_RESULTS,
        initial=pricing.DEFAULT_RESULTS,
        help_text=f"{pricing.MIN_RESULTS} to {pricing.MAX_RESULTS}. Clado often finds fewer than asked.",
    )
    company_urls = forms.CharField(
        label="Only people at these companies (optional)",
        required=False,
        widget=forms.Textarea(
            attrs={"rows": 2, "placeholder": "https://www.linkedin.com/company/acme\none URL per line"}
        ),
    )
    # Makes a double click or a resubmitted form launch one job, not two.
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)
    # The second "yes" to launching a search the person ran recently (the relaunch guard).
    again = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def clean_query(self):
        query = self.cleaned_data["query"].strip()
        if len(query) < 3:
            raise forms.ValidationError("Describe the people you want in a few words.")
        return query

    def clean_company_urls(self):
        lines = [line.strip() for line in self.cleaned_data["company_urls"].splitlines() if line.strip()]
        if len(lines) > 100:
            raise forms.ValidationError("At most 100 company URLs.")
        validator = forms.URLField(assume_scheme="https")
        for line in lines:
            try:
                validator.clean(line)
            except forms.ValidationError:
                raise forms.ValidationError(f"Not a URL: {line[:100]}") from None
        return lines


class MoreResultsForm(forms.Form):
    additional = forms.IntegerField(
        label="More results", min_value=pricing.MIN_RESULTS, max_value=pricing.MAX_RESULTS, initial=30
    )
    # The explicit yes to asking for more when the last run found fewer than asked.
    confirmed = forms.BooleanField(required=False)


class NotificationsForm(forms.ModelForm):
    class Meta:
        model = Preferences
        fields = ["email_when_done"]
        labels = {"email_when_done": "Email me when a job ends"}
