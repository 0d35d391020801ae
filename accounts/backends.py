"""The sign-in backend: Django's, reading a signed-in user's store and cart with the user."""
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class UserWithStoreBackend(ModelBackend):
    """Every page's navigation asks whether the user sells (`user.seller`) and what is
    in their cart (cart.selectors.cart_count): one query for the user, the store and
    whether there is a cart, instead of a query for each on every page."""

    def get_user(self, user_id):
        model = get_user_model()
        try:
            user = model._default_manager.select_related("seller", "cart").get(pk=user_id)
        except model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
