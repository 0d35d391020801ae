"""Writes to the catalog."""
from main.models import Interaction


def record_interaction(product, kind, user=None, session_key=""):
    """Remember that a shopper viewed, carted or bought a product (for recommendations)."""
    if user is not None and not user.is_authenticated:
        user = None
    return Interaction.objects.create(
        product=product, kind=kind, user=user, session_key=session_key or ""
    )
