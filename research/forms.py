from django import forms

from . import payments
from .money import format_usd

MAX_RESULTS = 1000


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
        min_value=1,
        max_value=MAX_RESULTS,
        initial=30,
        help_text=f"1 to {MAX_RESULTS}. Clado often finds fewer than asked.",
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

    def clean_query(self):
        query = self.cleaned_data["query"].strip()
        if len(query) < 3:
            raise forms.ValidationError("Describe the people you want in a few words.")
        return query

    def clean_company_urls(self):
        lines = [line.strip() for line in self.cleaned_data["company_urls"].splitlines() if line.strip()]
        validator = forms.URLField(assume_scheme="https")
        for line in lines:
            try:
                validator.clean(line)
            except forms.ValidationError:
                raise forms.ValidationError(f"Not a URL: {line[:100]}") from None
        return lines

    @staticmethod
    def price_of(limit):
        """The launch price from our price table."""
        return payments.table_price("deep-research", {"limit": limit})

    def price_label(self):
        return format_usd(self.price_of(self.cleaned_data["limit"]))


class MoreResultsForm(forms.Form):
    additional = forms.IntegerField(label="More results", min_value=1, max_value=MAX_RESULTS, initial=30)
