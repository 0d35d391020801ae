from datetime import timedelta

from django import forms
from django.utils import timezone

DEFAULT_DAYS = 30
# Beyond this many days a daily chart is unreadable, so the default period becomes weeks.
DAILY_MAX_DAYS = 92
MAX_DAYS = 3 * 366


def default_range():
    end = timezone.localdate()
    return end - timedelta(days=DEFAULT_DAYS - 1), end


def default_period(start, end):
    return "day" if (end - start).days < DAILY_MAX_DAYS else "week"


class SalesFilterForm(forms.Form):
    """The date range of the sales charts; a missing date falls back to the last 30 days."""

    PERIODS = (("day", "Day"), ("week", "Week"))

    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    period = forms.ChoiceField(choices=PERIODS, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.notes = []

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        end = cleaned.get("end") or timezone.localdate()
        start = cleaned.get("start") or end - timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            raise forms.ValidationError("The start date is after the end date.")
        if (end - start).days >= MAX_DAYS:
            raise forms.ValidationError(f"Choose a range of at most {MAX_DAYS} days.")
        period = cleaned.get("period") or default_period(start, end)
        if period == "day" and (end - start).days >= DAILY_MAX_DAYS:
            # Hundreds of daily rows make an unreadable chart and a slow page.
            period = "week"
            self.notes.append(f"Days are shown for ranges up to {DAILY_MAX_DAYS} days; this one is shown per week.")
        cleaned.update(start=start, end=end, period=period)
        return cleaned

    def date_range(self):
        """(start, end, period): the valid choice, or the default range."""
        if self.is_valid():
            return self.cleaned_data["start"], self.cleaned_data["end"], self.cleaned_data["period"]
        start, end = default_range()
        return start, end, default_period(start, end)
