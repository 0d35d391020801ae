"""Writes for seller onboarding and the vendor dashboard."""
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.text import slugify

from cart import pipeline
from seller_accounts.models import Seller

SLUG_MAX = Seller._meta.get_field("slug").max_length


def unique_store_slug(store_name):
    """A slug for the store name, suffixed -2, -3, ... when it is taken."""
    base = (slugify(store_name) or "store")[: SLUG_MAX - 6].strip("-") or "store"
    slug, n = base, 1
    while Seller.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def create_seller(*, user, store_name, description=""):
    """Turn a signed-in user into a seller with their own store."""
    store_name = store_name.strip()
    if Seller.objects.filter(user=user).exists():
        raise ValidationError("This account already has a store.", code="has_store")
    if Seller.objects.filter(store_name__iexact=store_name).exists():
        raise ValidationError("A store with this name already exists.", code="store_name_taken")
    try:
        with transaction.atomic():
            return Seller.objects.create(
                user=user, store_name=store_name, slug=unique_store_slug(store_name),
                description=description,
            )
    except IntegrityError:
        # Lost a race for the same name or slug with another signup.
        raise ValidationError("A store with this name already exists.", code="store_name_taken")


@transaction.atomic
def create_seller_account(*, username, email, password, store_name, description=""):
    """Create a user and their store in one step (both or neither)."""
    user = get_user_model().objects.create_user(username=username, email=email, password=password)
    seller = create_seller(user=user, store_name=store_name, description=description)
    return user, seller


def _check_own_line(seller, line):
    if line.seller_id != seller.pk:
        # Views look lines up on seller_order_lines(seller); this guards other callers.
        raise PermissionDenied("This order line belongs to another seller.")


def update_line_fulfilment(seller, line, status):
    """Move the seller's line along the fulfilment pipeline. cart.pipeline checks the
    move (IllegalTransition), gives a cancelled line's units back to stock under row
    locks, and re-derives the order status."""
    _check_own_line(seller, line)
    return pipeline.set_line_fulfilment(line, status)


def update_line_payment(seller, line, status):
    """Move the seller's line along the payment pipeline (IllegalTransition if not allowed)."""
    _check_own_line(seller, line)
    return pipeline.set_line_payment(line, status)
