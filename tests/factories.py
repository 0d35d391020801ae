"""Shared factories for every test layer."""
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from accounts.models import Address
from cart.models import Cart, CartItem, Order, OrderItem
from main.facets import combination
from main.models import Interaction, Product
from main.services import recount_facets
from seller_accounts.models import Seller

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class SellerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Seller

    user = factory.SubFactory(UserFactory)
    store_name = factory.Sequence(lambda n: f"Store {n}")
    slug = factory.Sequence(lambda n: f"store-{n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        skip_postgeneration_save = True

    seller = factory.SubFactory(SellerFactory)
    sku = factory.Sequence(lambda n: str(100000 + n))
    name = factory.Sequence(lambda n: f"Roadster Men Blue Denim Jeans {n}")
    price = Decimal("999.00")
    stock = 10
    gender = "Men"
    master_category = "Apparel"
    sub_category = "Bottomwear"
    article_type = "Jeans"
    base_colour = "Blue"
    season = "Summer"
    year = 2012
    usage = "Casual"

    @factory.post_generation
    def counted(obj, create, extracted, **kwargs):
        # Listings count through the maintained facet counts that main.services keeps;
        # a factory writes around the services, so it recounts like they do.
        if create:
            recount_facets([combination(obj)])


class AddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Address

    user = factory.SubFactory(UserFactory)
    full_name = "Asha Rao"
    line1 = "12 MG Road"
    city = "Bengaluru"
    postcode = "560001"
    country = "India"
    phone = "+91 80 1234 5678"
    is_default = True


class CartFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cart

    user = factory.SubFactory(UserFactory)


class CartItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CartItem

    cart = factory.SubFactory(CartFactory)
    product = factory.SubFactory(ProductFactory)
    quantity = 1


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    buyer = factory.SubFactory(UserFactory)
    payment_method = Order.PaymentMethod.CASH_ON_DELIVERY
    ship_full_name = "Asha Rao"
    ship_line1 = "12 MG Road"
    ship_city = "Bengaluru"
    ship_postcode = "560001"
    ship_country = "India"
    total = Decimal("0")


class OrderItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderItem

    order = factory.SubFactory(OrderFactory)
    product = factory.SubFactory(ProductFactory)
    seller = factory.LazyAttribute(lambda item: item.product.seller)
    sku = factory.LazyAttribute(lambda item: item.product.sku)
    product_name = factory.LazyAttribute(lambda item: item.product.name)
    unit_price = factory.LazyAttribute(lambda item: item.product.price)
    quantity = 1


class InteractionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Interaction

    user = factory.SubFactory(UserFactory)
    product = factory.SubFactory(ProductFactory)
    kind = Interaction.Kind.VIEW
