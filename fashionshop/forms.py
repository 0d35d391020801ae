"""Form helpers every app shares."""
from django import forms


class BootstrapMixin:
    """Bootstrap classes on every widget. Django itself ties inputs to their help text
    and errors (aria-describedby="<id>_helptext <id>_error", aria-invalid); the
    templates/partials/form_field.html partial renders those ids."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            widget = field.widget
            if isinstance(widget, forms.HiddenInput):
                continue
            if isinstance(widget, (forms.CheckboxInput, forms.RadioSelect, forms.CheckboxSelectMultiple)):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs["class"] = (widget.attrs.get("class", "") + " " + css).strip()

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            widget = self.fields[name].widget if name in self.fields else None
            if widget is not None and ("form-control" in widget.attrs.get("class", "")
                                       or "form-select" in widget.attrs.get("class", "")):
                widget.attrs["class"] += " is-invalid"
