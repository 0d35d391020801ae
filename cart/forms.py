from django import forms

from cart.models import Order
from cart.services import MAX_LINE_QUANTITY
from fashionshop.forms import BootstrapMixin


class AddToCartForm(forms.Form):
    quantity = forms.IntegerField(min_value=1, max_value=MAX_LINE_QUANTITY, initial=1, required=False)

    def clean_quantity(self):
        return self.cleaned_data.get("quantity") or 1


class UpdateQuantityForm(forms.Form):
    quantity = forms.IntegerField(min_value=0, max_value=MAX_LINE_QUANTITY,
                                  help_text="0 removes the item.")


NEW_ADDRESS = "new"


class CardNumberInput(forms.TextInput):
    """Never echoes the card number back into the page."""

    def format_value(self, value):
        return None


class CheckoutForm(BootstrapMixin, forms.Form):
    """Pick a saved address or type a new one (saved to the address book), then pay."""

    address = forms.ChoiceField(label="Deliver to", widget=forms.RadioSelect)
    full_name = forms.CharField(max_length=120, required=False)
    line1 = forms.CharField(label="Address line 1", max_length=200, required=False)
    line2 = forms.CharField(label="Address line 2", max_length=200, required=False)
    city = forms.CharField(max_length=100, required=False)
    postcode = forms.CharField(max_length=20, required=False)
    country = forms.CharField(max_length=60, required=False, initial="India")
    phone = forms.CharField(max_length=30, required=False)
    payment_method = forms.ChoiceField(
        choices=Order.PaymentMethod.choices, widget=forms.RadioSelect,
        initial=Order.PaymentMethod.TEST_CARD,
    )
    card_number = forms.CharField(
        label="Card number", required=False, max_length=23,
        help_text="Test card: 4242 4242 4242 4242 is approved, 4000 0000 0000 0002 is declined.",
        widget=CardNumberInput(attrs={"autocomplete": "cc-number", "inputmode": "numeric"}),
    )

    NEW_ADDRESS_REQUIRED = ("full_name", "line1", "city", "postcode", "country")

    def __init__(self, *args, addresses=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.addresses = {str(address.pk): address for address in addresses}
        self.fields["address"].choices = [
            (pk, ", ".join(address.as_lines())) for pk, address in self.addresses.items()
        ] + [(NEW_ADDRESS, "A new address")]
        default = next((pk for pk, a in self.addresses.items() if a.is_default), None)
        self.fields["address"].initial = default or next(iter(self.addresses), NEW_ADDRESS)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("address") == NEW_ADDRESS:
            for name in self.NEW_ADDRESS_REQUIRED:
                if not cleaned.get(name):
                    self.add_error(name, "This field is required for a new address.")
        if cleaned.get("payment_method") == Order.PaymentMethod.TEST_CARD and not cleaned.get("card_number"):
            self.add_error("card_number", "Enter the card number.")
        return cleaned

    @property
    def chosen_address(self):
        return self.addresses.get(self.cleaned_data.get("address"))

    @property
    def new_address(self):
        if self.cleaned_data.get("address") != NEW_ADDRESS:
            return None
        return {name: self.cleaned_data.get(name, "") for name in
                ("full_name", "line1", "line2", "city", "postcode", "country", "phone")}
