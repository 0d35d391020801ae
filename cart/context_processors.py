from django.utils.functional import SimpleLazyObject

from cart.selectors import cart_count


def cart(request):
    """CART_COUNT for the navbar: one cheap aggregate, run only if a template uses it."""
    return {"CART_COUNT": SimpleLazyObject(lambda: cart_count(request))}
