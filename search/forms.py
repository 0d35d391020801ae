from django import forms

from search.vocabulary import FIELDS


class SearchOptionsForm(forms.Form):
    """How to read the query: `ignore` names understood filters the shopper removed
    (their chips); `exact` searches the words as typed, without spelling correction.
    Values it does not know are dropped: these links are built by the page itself."""

    ignore = forms.TypedMultipleChoiceField(choices=[(f, f) for f in FIELDS], required=False)
    exact = forms.BooleanField(required=False)

    def options(self):
        """(fields to ignore, exact) from whatever part of the parameters is valid."""
        self.is_valid()
        ignored = [value for value in self.data.getlist("ignore") if value in FIELDS]
        return tuple(dict.fromkeys(ignored)), self.cleaned_data.get("exact", False)
