from django.conf import settings

from main.selectors import nav_genders


def shop(request):
    return {
        "SHOP_NAME": settings.SHOP_NAME,
        "CURRENCY_SYMBOL": settings.CURRENCY_SYMBOL,
        "NAV_GENDERS": nav_genders(),
    }
