"""Every write to buyer accounts and their address books."""
from django.contrib.auth import get_user_model
from django.db import transaction

from accounts.models import Address

ADDRESS_FIELDS = ("full_name", "line1", "line2", "city", "postcode", "country", "phone")


def create_buyer(*, username, email, password):
    """A new buyer account; the password is validated by the form beforehand."""
    return get_user_model().objects.create_user(username=username, email=email, password=password)


def _lock_address_book(user):
    list(Address.objects.select_for_update().filter(user=user).order_by("pk").values_list("pk", flat=True))


def create_address(user, *, make_default=False, **data):
    """Add an address; the first one (or ``make_default``) becomes the default."""
    with transaction.atomic():
        _lock_address_book(user)
        has_default = Address.objects.filter(user=user, is_default=True).exists()
        is_default = make_default or not has_default
        if is_default:
            Address.objects.filter(user=user, is_default=True).update(is_default=False)
        return Address.objects.create(
            user=user, is_default=is_default, **{k: data.get(k, "") for k in ADDRESS_FIELDS if k in data}
        )


def update_address(address, **data):
    for name in ADDRESS_FIELDS:
        if name in data:
            setattr(address, name, data[name])
    address.full_clean(exclude=["user"])
    address.save()
    return address


def set_default_address(address):
    with transaction.atomic():
        _lock_address_book(address.user_id)
        Address.objects.filter(user_id=address.user_id, is_default=True).exclude(pk=address.pk).update(
            is_default=False
        )
        Address.objects.filter(pk=address.pk).update(is_default=True)
    address.is_default = True
    return address


def delete_address(address):
    """Delete an address; if it was the default, the newest remaining one takes over.

    Past orders keep their copied shipping address.
    """
    with transaction.atomic():
        _lock_address_book(address.user_id)
        was_default = Address.objects.filter(pk=address.pk, is_default=True).exists()
        Address.objects.filter(pk=address.pk).delete()
        if was_default:
            successor = Address.objects.filter(user_id=address.user_id).order_by("-created_at", "-pk").first()
            if successor is not None:
                Address.objects.filter(pk=successor.pk).update(is_default=True)
