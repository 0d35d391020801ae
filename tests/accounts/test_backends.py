import pytest
from django.urls import reverse

from accounts.backends import UserWithStoreBackend
from tests.factories import SellerFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_the_signed_in_user_comes_with_their_store_in_one_query(django_assert_num_queries):
    seller = SellerFactory()
    with django_assert_num_queries(1):
        user = UserWithStoreBackend().get_user(seller.user.pk)
        assert user.seller.store_name == seller.store_name


def test_a_user_without_a_store_is_known_to_have_none_without_a_second_query(django_assert_num_queries):
    buyer = UserFactory()
    with django_assert_num_queries(1):
        user = UserWithStoreBackend().get_user(buyer.pk)
        assert not hasattr(user, "seller")


def test_unknown_and_inactive_users_are_not_signed_in():
    assert UserWithStoreBackend().get_user(987654) is None
    inactive = UserFactory(is_active=False)
    assert UserWithStoreBackend().get_user(inactive.pk) is None


def test_the_navigation_offers_the_seller_dashboard_to_sellers_only(client):
    seller = SellerFactory()
    client.force_login(seller.user)
    assert "Seller dashboard" in client.get(reverse("main:home")).content.decode()
    client.force_login(UserFactory())
    assert "Seller dashboard" not in client.get(reverse("main:home")).content.decode()
