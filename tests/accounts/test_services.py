import pytest

from accounts import selectors, services
from accounts.models import Address
from tests.factories import AddressFactory, UserFactory

pytestmark = pytest.mark.django_db

DATA = {"full_name": "A B", "line1": "1 Road", "city": "Delhi", "postcode": "110001", "country": "India"}


def test_only_one_default_address_at_a_time():
    user = UserFactory()
    first = services.create_address(user, **DATA)
    second = services.create_address(user, make_default=True, **DATA)
    assert list(Address.objects.filter(user=user, is_default=True)) == [second]
    services.set_default_address(first)
    assert list(Address.objects.filter(user=user, is_default=True)) == [first]
    assert selectors.default_address(user) == first


def test_default_is_per_user():
    mine = AddressFactory(is_default=True)
    services.create_address(UserFactory(), make_default=True, **DATA)
    mine.refresh_from_db()
    assert mine.is_default


def test_deleting_the_last_address_leaves_an_empty_book():
    address = AddressFactory()
    services.delete_address(address)
    assert not Address.objects.exists()


def test_deleting_a_non_default_keeps_the_default():
    user = UserFactory()
    default = services.create_address(user, **DATA)
    other = services.create_address(user, **DATA)
    services.delete_address(other)
    default.refresh_from_db()
    assert default.is_default


def test_update_address_validates():
    address = AddressFactory()
    with pytest.raises(Exception):
        services.update_address(address, postcode="x" * 50)
