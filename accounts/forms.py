from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm

from accounts.models import Address


class BootstrapMixin:
    """Bootstrap classes on every widget. Django itself ties inputs to their help text
    and errors (aria-describedby="<id>_helptext <id>_error", aria-invalid); the
    templates/accounts/_field.html partial renders those ids."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            widget = field.widget
            if isinstance(widget, (forms.CheckboxInput, forms.RadioSelect, forms.CheckboxSelectMultiple)):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            if css:
                widget.attrs["class"] = (widget.attrs.get("class", "") + " " + css).strip()

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            widget = self.fields[name].widget if name in self.fields else None
            if widget is not None and ("form-control" in widget.attrs.get("class", "")
                                       or "form-select" in widget.attrs.get("class", "")):
                widget.attrs["class"] += " is-invalid"


class SignupForm(BootstrapMixin, UserCreationForm):
    """Username, e-mail and a password checked by AUTH_PASSWORD_VALIDATORS."""

    email = forms.EmailField(required=True, help_text="We send your order confirmations here.")

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        if get_user_model().objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this e-mail address already exists.")
        return email


class AddressForm(BootstrapMixin, forms.ModelForm):
    make_default = forms.BooleanField(label="Use as my default address", required=False)

    class Meta:
        model = Address
        fields = ("full_name", "line1", "line2", "city", "postcode", "country", "phone")
        widgets = {"phone": forms.TextInput(attrs={"autocomplete": "tel"})}
