from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm

from accounts.models import Address
from fashionshop.forms import BootstrapMixin


class SignupForm(BootstrapMixin, UserCreationForm):
    """Username, e-mail and a password checked by AUTH_PASSWORD_VALIDATORS.

    The e-mail is where confirmations go, not a sign-in name, so an address already on
    file is accepted like any other: refusing it would tell anyone who is a customer.
    """

    email = forms.EmailField(required=True, help_text="We send your order confirmations here.")

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")

    def clean_email(self):
        return self.cleaned_data["email"].strip().lower()


class AddressForm(BootstrapMixin, forms.ModelForm):
    make_default = forms.BooleanField(label="Use as my default address", required=False)

    class Meta:
        model = Address
        fields = ("full_name", "line1", "line2", "city", "postcode", "country", "phone")
        widgets = {"phone": forms.TextInput(attrs={"autocomplete": "tel"})}
