"""Forms validate input; the services in seller_accounts.services and main.services write."""
import json
import re
from decimal import Decimal

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import BaseUserCreationForm
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator

from cart.models import OrderItem
from cart.services import MAX_LISTING_PRICE
from fashionshop.forms import BootstrapMixin
from main.images import clean_upload
from main.models import Product
from main.selectors import TAXONOMY_FIELDS
from seller_accounts.models import Seller
from shop_ml.facade import CATEGORIZER_KINDS, SUGGESTION_MODELS


def _clean_store_name(value):
    value = value.strip()
    if not value:
        raise ValidationError("Enter a store name.")
    if Seller.objects.filter(store_name__iexact=value).exists():
        raise ValidationError("A store with this name already exists.")
    return value


class OnboardingForm(BootstrapMixin, forms.Form):
    store_name = forms.CharField(max_length=100, help_text="Shown to shoppers; your store's address is made from it.")
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False,
                                  help_text="Optional: a few words about your store.")

    def clean_store_name(self):
        return _clean_store_name(self.cleaned_data["store_name"])


class SellerSignupForm(BootstrapMixin, BaseUserCreationForm):
    """A new user and their store. Validates only; create_seller_account writes."""

    email = forms.EmailField()
    store_name = forms.CharField(max_length=100, help_text="Shown to shoppers.")

    class Meta:
        model = get_user_model()
        fields = ("username", "email")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.pop("usable_password", None)

    def clean_username(self):
        username = self.cleaned_data["username"]
        if get_user_model().objects.filter(username__iexact=username).exists():
            raise ValidationError("A user with that username already exists.")
        return username

    def clean_store_name(self):
        return _clean_store_name(self.cleaned_data["store_name"])


SHOWN_SUGGESTIONS_MAX_CHARS = 2000
SUGGESTED_VALUE_MAX_CHARS = 100  # SuggestionOutcome.suggested
MODEL_VERSION = re.compile(r"[\w.:+-]{1,40}")


def parse_shown_suggestions(raw):
    """Validate the suggestions a product form says it showed (see ProductForm.suggestions)."""
    if not raw or len(raw) > SHOWN_SUGGESTIONS_MAX_CHARS:
        return None
    try:
        shown = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(shown, dict) or set(shown) - {"model", "version", "fields"}:
        return None
    model, version, fields = shown.get("model"), shown.get("version", ""), shown.get("fields")
    if model not in SUGGESTION_MODELS or not isinstance(version, str) or not isinstance(fields, dict):
        return None
    if version and not MODEL_VERSION.fullmatch(version):
        return None
    if not fields or set(fields) - set(TAXONOMY_FIELDS):
        return None
    if not all(isinstance(v, str) and v.isprintable() and 0 < len(v) <= SUGGESTED_VALUE_MAX_CHARS
               for v in fields.values()):
        return None
    return {"model": f"{model}@{version}" if version else model, "fields": fields}


class CategorizeForm(forms.Form):
    """The input of the live categorizer (seller_accounts.api)."""

    name = forms.CharField(max_length=300, error_messages={
        "required": "Enter a product name.",
        "max_length": "The name is %(show_value)d characters long; the limit is %(limit_value)d.",
    })
    model = forms.ChoiceField(
        required=False, choices=[(m, m) for m in CATEGORIZER_KINDS],
        error_messages={"invalid_choice": f"Unknown model; use one of: {', '.join(CATEGORIZER_KINDS)}."},
    )

    def clean_model(self):
        return self.cleaned_data["model"] or CATEGORIZER_KINDS[0]


class ProductForm(BootstrapMixin, forms.ModelForm):
    """A listing. Taxonomy fields are free text with suggestions (datalists) from the
    catalog, so a seller may introduce a new value. The photo goes through the one
    upload gate (main.images.clean_upload); `cleaned_data["photo"]` is the re-encoded
    CleanImage, or None when no photo was sent."""

    photo = forms.FileField(
        required=False,
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,image/webp,image/gif"}),
        help_text="JPEG, PNG, WebP or GIF. It is re-encoded; the file name is not kept.",
    )
    year = forms.IntegerField(required=False, min_value=1900, max_value=2100)
    # The stock shown when the form was opened: if the seller left stock unchanged we do
    # not write it back, so sales made meanwhile are not overwritten.
    stock_seen = forms.IntegerField(widget=forms.HiddenInput, required=False)
    # The categorizer's suggestions the page showed (written by suggest.js), so a save can
    # count which ones the seller kept. Only statistics read it; see clean_suggestions.
    suggestions = forms.CharField(widget=forms.HiddenInput, required=False, strip=False)

    class Meta:
        model = Product
        fields = (
            "name", "description", "price", "stock", "gender", "master_category",
            "sub_category", "article_type", "base_colour", "season", "year", "usage", "is_active",
        )
        labels = {
            "base_colour": "Colour", "master_category": "Master category",
            "sub_category": "Sub category", "article_type": "Article type",
            "is_active": "Listed in the shop",
        }
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, datalists=None, **kwargs):
        super().__init__(*args, **kwargs)
        # The price cap keeps the largest possible order within Order.total (cart.services).
        self.fields["price"].validators.append(MaxValueValidator(MAX_LISTING_PRICE))
        self.fields["price"].widget.attrs.update({"min": "0.01", "max": str(MAX_LISTING_PRICE), "step": "0.01"})
        self.fields["stock"].widget.attrs["min"] = "0"
        self.fields["year"].widget.attrs.update({"min": "1900", "max": "2100"})
        for field in TAXONOMY_FIELDS:
            self.fields[field].widget.attrs.update({"list": f"{field}-options", "autocomplete": "off"})
        for field in ("gender", "master_category", "sub_category", "article_type"):
            self.fields[field].required = True
        self.datalists = datalists or {}
        if self.instance.pk and not self.is_bound:
            self.fields["stock_seen"].initial = self.instance.stock

    def clean(self):
        cleaned = super().clean()
        for field in TAXONOMY_FIELDS:
            if isinstance(cleaned.get(field), str):
                cleaned[field] = " ".join(cleaned[field].split())
        return cleaned

    def clean_photo(self):
        upload = self.cleaned_data.get("photo")
        if not upload:
            return None
        return clean_upload(upload)

    def clean_suggestions(self):
        """{"model": "name@version", "fields": {field: value}}, or None. The browser wrote
        it, so anything malformed, oversized or unknown is dropped rather than refused:
        it must never stop a seller from saving."""
        return parse_shown_suggestions(self.cleaned_data.get("suggestions") or "")

    def taxonomy_options(self):
        return [(f"{field}-options", self.datalists.get(field, [])) for field in TAXONOMY_FIELDS]

    def product_data(self):
        """The values for main.services: stock is left out if the seller did not change it."""
        data = {f: self.cleaned_data[f] for f in self.Meta.fields}
        seen = self.cleaned_data.get("stock_seen")
        if self.instance.pk and seen is not None and seen == data["stock"]:
            del data["stock"]
        return data


class ProductFilterForm(BootstrapMixin, forms.Form):
    q = forms.CharField(required=False, label="Search", max_length=100,
                        widget=forms.TextInput(attrs={"type": "search", "placeholder": "Name or SKU"}))
    article_type = forms.ChoiceField(required=False, label="Article type")
    stock = forms.ChoiceField(required=False, label="Stock", choices=[
        ("", "Any stock"), ("in", "In stock"), ("low", "Low stock"), ("out", "Out of stock"),
    ])
    status = forms.ChoiceField(required=False, label="Status", choices=[
        ("", "Listed and unlisted"), ("active", "Listed"), ("inactive", "Unlisted"),
    ])

    def __init__(self, *args, article_types=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["article_type"].choices = [("", "All article types")] + [(a, a) for a in article_types]

    def filters(self):
        """The valid, non-empty filters; a stale or forged value is ignored."""
        if not self.is_bound:
            return {}
        self.is_valid()
        return {k: v for k, v in self.cleaned_data.items() if v}


class StockForm(BootstrapMixin, forms.Form):
    stock = forms.IntegerField(min_value=0, max_value=2_147_483_647, label="Stock")


class PriceForm(BootstrapMixin, forms.Form):
    price = forms.DecimalField(min_value=Decimal("0.01"), max_value=MAX_LISTING_PRICE, max_digits=10,
                               decimal_places=2, label="Price")


class LineStatusForm(forms.Form):
    choices = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"] = forms.ChoiceField(choices=self.choices.choices)

    @classmethod
    def label(cls, value):
        return cls.choices(value).label


class FulfilmentForm(LineStatusForm):
    choices = OrderItem.Fulfilment


class PaymentForm(LineStatusForm):
    choices = OrderItem.Payment
