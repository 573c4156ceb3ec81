from decimal import Decimal

from django import forms

from . import access, pricing
from .models import Cadence, Preferences, ShortlistStatus
from .money import from_dollars, to_decimal

MAX_CRITERIA = 10


def _lines(text):
    return [line.strip() for line in str(text or "").splitlines() if line.strip()]


class ScheduleFields(forms.Form):
    """Saving a search to run again by itself, with a cap per run (shared by two forms)."""

    schedule = forms.ChoiceField(
        label="Run it again by itself",
        required=False,
        choices=[("", "No, just this once"), *Cadence.choices],
        help_text="Each run says who is new since the last one.",
    )
    search_name = forms.CharField(label="Name of the saved search", max_length=200, required=False)
    max_spend = forms.DecimalField(
        label="At most this much a run ($)",
        required=False,
        min_value=Decimal("0.01"),
        max_digits=10,
        decimal_places=2,
        help_text="A run that would cost more (its launch and status checks) is not launched. "
        "Left empty: what one run of this search costs now.",
    )

    def clean_max_spend(self):
        dollars = self.cleaned_data["max_spend"]
        return None if dollars is None else from_dollars(dollars)

    @staticmethod
    def dollars(base_units):
        """An initial value for `max_spend`: base units rounded up to the cent."""
        cents = -(-int(base_units) // 10_000)
        return to_decimal(cents * 10_000).quantize(Decimal("0.01"))


class NewJobForm(ScheduleFields):
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
    criteria = forms.CharField(
        label="Your questions about each person (optional)",
        required=False,
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": "Has sold to banks.\nWorks at a company of under 200 people."}
        ),
        help_text=f"Up to {MAX_CRITERIA}, one per line. Each is answered yes, maybe or no for every person, "
        "and becomes a column and a filter.",
    )
    # Makes a double click or a resubmitted form launch one job, not two.
    idempotency_key = forms.UUIDField(widget=forms.HiddenInput)
    # The second "yes" to launching a search the person ran recently (the relaunch guard).
    again = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.teams = access.teams_of(user)
        self._teams = list(self.teams)  # read once: the picker, the default and the price ask it
        # The job belongs to a team: the person's only team without asking; a picker when they
        # are in several; none for a person in no team (then only they and staff see it).
        if len(self._teams) > 1:
            self.fields["team"] = forms.ModelChoiceField(
                label="For which team",
                queryset=self.teams,
                empty_label="Choose a team…",
                help_text="Its members see this job and its leads, and may spend on it.",
            )
            self.order_fields(["query", "limit", "team"])

    @property
    def team(self):
        """The team the new job belongs to (after is_valid)."""
        if "team" in self.fields:
            return self.cleaned_data.get("team")
        return self._only_team()

    def chosen_team(self, raw):
        """The team a not-yet-valid form points at (for the price shown), else the default."""
        raw = str(raw or "")
        if raw.isascii() and raw.isdigit() and len(raw) <= 18:
            chosen = next((team for team in self._teams if team.pk == int(raw)), None)
            if chosen is not None:
                return chosen
        return self._only_team()

    def _only_team(self):
        return self._teams[0] if len(self._teams) == 1 else None

    def clean_query(self):
        query = self.cleaned_data["query"].strip()
        if len(query) < 3:
            raise forms.ValidationError("Describe the people you want in a few words.")
        return query

    field_order = ["query", "limit", "criteria", "company_urls", "schedule", "search_name", "max_spend"]

    def clean_criteria(self):
        questions = list(dict.fromkeys(_lines(self.cleaned_data["criteria"])))
        if len(questions) > MAX_CRITERIA:
            raise forms.ValidationError(f"At most {MAX_CRITERIA} questions, one per line.")
        if any(len(question) > 300 for question in questions):
            raise forms.ValidationError("Keep each question under 300 characters.")
        return questions

    def clean_company_urls(self):
        lines = _lines(self.cleaned_data["company_urls"])
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


class SavedSearchForm(ScheduleFields):
    """Saving a job's search (or changing a saved one): its name, cadence and cap per run."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["schedule"].required = True
        self.fields["schedule"].choices = Cadence.choices
        self.fields["schedule"].label = "Run it"


class ShortlistForm(forms.Form):
    """One person's shortlist entry. Every field is optional: what is sent is what changes."""

    status = forms.ChoiceField(choices=ShortlistStatus.choices, required=False)
    tags = forms.CharField(max_length=1000, required=False, help_text="Separated by commas.")
    note = forms.CharField(max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 3}))
    remove = forms.BooleanField(required=False)


class IdsField(forms.Field):
    """A list of ids from repeated fields (person=3&person=8); anything not a number is dropped."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        return [int(v) for v in value or () if str(v).isdigit()]


class BulkForm(forms.Form):
    """An action on the selected people: this page's ticked rows, or everyone matching the filters."""

    selection = forms.ChoiceField(choices=[("page", "Ticked"), ("all", "All matching")], initial="page")
    person = IdsField(required=False)
    action = forms.ChoiceField(choices=[("status", "Set status"), ("tag", "Add tag"), ("export", "Export")])
    # Named apart from the table's own filters ("shortlist", "tag"), which the form carries along.
    new_status = forms.ChoiceField(choices=ShortlistStatus.choices, required=False)
    new_tag = forms.CharField(max_length=50, required=False)
    preset = forms.CharField(max_length=20, required=False)

    def clean(self):
        data = super().clean()
        if data.get("selection") == "page" and not data.get("person"):
            raise forms.ValidationError("Tick at least one person, or choose everyone matching the filters.")
        if data.get("action") == "tag" and not data.get("new_tag", "").strip():
            self.add_error("new_tag", "Type the tag to add.")
        if data.get("action") == "status" and not data.get("new_status"):
            self.add_error("new_status", "Choose the status to set.")
        return data


class NewTokenForm(forms.Form):
    name = forms.CharField(
        label="Name",
        max_length=100,
        help_text="What it is for, so you know which to revoke: “lead pipeline”, “Claude agent”.",
    )
    expires_in = forms.TypedChoiceField(
        label="Expires",
        coerce=int,
        choices=[(30, "In 30 days"), (90, "In 90 days"), (365, "In a year"), (0, "Never")],
        initial=90,
    )

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the token a name.")
        return name


class NotificationsForm(forms.ModelForm):
    class Meta:
        model = Preferences
        fields = ["email_when_done"]
        labels = {"email_when_done": "Email me when a job ends"}
