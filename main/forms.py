from django import forms
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.template.defaultfilters import filesizeformat

from main import selectors
from main.images import ANALYSIS_SIDE, decode_upload

MAX_FILTER_VALUES = 50
MAX_VALUE_LENGTH = 50  # the longest taxonomy column in main.models.Product
MAX_QUERY_LENGTH = 200
MAX_PRICE_DIGITS = 10  # as Product.price


class ValueListField(forms.Field):
    """Every value a GET parameter was given (?colour=Red&colour=Blue), stripped.

    The choices are not listed: they are whatever the catalog holds, and a value the
    catalog lacks simply matches nothing.
    """

    widget = forms.MultipleHiddenInput

    def to_python(self, value):
        if isinstance(value, str):
            value = [value]
        values = [v.strip() for v in (value or []) if isinstance(v, str) and v.strip()]
        if len(values) > MAX_FILTER_VALUES:
            raise ValidationError(f"Choose at most {MAX_FILTER_VALUES} values.", code="too_many")
        if any(len(v) > MAX_VALUE_LENGTH for v in values):
            raise ValidationError("That value is too long.", code="too_long")
        return tuple(dict.fromkeys(values))


class ProductFilterForm(forms.Form):
    """The GET parameters of a listing. A parameter that does not validate is dropped
    (the listing shows without it, and the view says so); it never fails the page."""

    q = forms.CharField(label="Search", max_length=MAX_QUERY_LENGTH, required=False)
    min_price = forms.DecimalField(
        label="Lowest price", required=False, min_value=0, max_digits=MAX_PRICE_DIGITS, decimal_places=2
    )
    max_price = forms.DecimalField(
        label="Highest price", required=False, min_value=0, max_digits=MAX_PRICE_DIGITS, decimal_places=2
    )
    sort = forms.ChoiceField(
        label="Sort by", required=False,
        choices=((selectors.RELEVANCE, "Best match"),) + selectors.SORT_CHOICES,
    )
    page = forms.IntegerField(label="Page", required=False, min_value=1)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for _, param, label in selectors.FACETS:
            self.fields[param] = ValueListField(label=label, required=False)

    def clean(self):
        cleaned = super().clean()
        low, high = cleaned.get("min_price"), cleaned.get("max_price")
        if low is not None and high is not None and low > high:
            self.add_error(None, "The lowest price is above the highest price, so the price range was ignored.")
            cleaned.pop("min_price"), cleaned.pop("max_price")
        return cleaned

    def product_filter(self):
        """The valid part of the parameters as a selectors.ProductFilter."""
        self.is_valid()
        data = self.cleaned_data
        return selectors.ProductFilter(
            text=data.get("q") or "",
            values={facet_field: data.get(param) or () for facet_field, param, _ in selectors.FACETS},
            min_price=data.get("min_price"),
            max_price=data.get("max_price"),
        )

    def sort_order(self):
        """The chosen order; a search lists the best matches first unless told otherwise."""
        self.is_valid()
        searching = bool(self.cleaned_data.get("q"))
        chosen = self.cleaned_data.get("sort") or (selectors.RELEVANCE if searching else "newest")
        # Without search text there is nothing to rank by.
        return "newest" if chosen == selectors.RELEVANCE and not searching else chosen

    def page_number(self):
        self.is_valid()
        return self.cleaned_data.get("page") or 1

    def problems(self):
        """Why parameters were ignored, one sentence each, for the page to show."""
        self.is_valid()
        problems = list(self.non_field_errors())
        for name, errors in self.errors.items():
            if name != NON_FIELD_ERRORS:
                problems += [f"{self.fields[name].label}: {error} (ignored)" for error in errors]
        return problems


class PhotoSearchForm(forms.Form):
    photo = forms.FileField(
        label="Photo",
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp,image/gif"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Read at run time so the help text always states the limit that is enforced.
        limit = filesizeformat(settings.MAX_UPLOAD_BYTES)
        self.fields["photo"].help_text = (
            f"A JPEG, PNG, WebP or GIF photo of a garment or accessory, up to {limit}. "
            "The photo is only compared with the catalog; it is not stored."
        )

    def clean_photo(self):
        """The decoded RGB image (main.images.decode_upload says why a file is refused)."""
        return decode_upload(self.cleaned_data["photo"], side=ANALYSIS_SIDE)
