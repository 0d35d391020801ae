"""Reads of buyer accounts shared by views and checkout."""
from django.shortcuts import get_object_or_404

from accounts.models import Address


def addresses_for_user(user):
    return Address.objects.filter(user=user)


def address_for_user(user, pk):
    """One of the user's own addresses; anyone else's answers 404."""
    return get_object_or_404(Address, user=user, pk=pk)


def default_address(user):
    return Address.objects.filter(user=user).order_by("-is_default", "-created_at").first()
