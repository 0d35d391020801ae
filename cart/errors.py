"""Refusals of the cart, checkout and order pipeline.

Each message can be shown to the shopper as is. A move the status pipelines do
not list raises `cart.pipeline.IllegalTransition` instead.
"""


class CartError(Exception):
    """A refusal whose message can be shown to the shopper as is."""


class OutOfStock(CartError):
    pass


class PaymentDeclined(CartError):
    pass


class OrderNotCancellable(CartError):
    pass


class OrderTooLarge(CartError):
    pass
