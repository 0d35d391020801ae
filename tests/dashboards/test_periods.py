import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db.models import DateField
from django.db.models.functions import Trunc

from dashboards.periods import local_period, offset_segments
from main.models import Product
from tests.factories import ProductFactory, SellerFactory

UTC = ZoneInfo("UTC")


def test_a_zone_without_transitions_is_one_segment():
    low, high = datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
    assert offset_segments(low, high, ZoneInfo("Asia/Kolkata")) == [(None, 330)]


def test_segments_change_at_the_exact_transition_second():
    low, high = datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
    assert offset_segments(low, high, ZoneInfo("Europe/London")) == [
        (datetime(2025, 3, 30, 1, 0, tzinfo=UTC), 0),
        (datetime(2025, 10, 26, 1, 0, tzinfo=UTC), 60),
        (None, 0),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("zone", ["UTC", "Asia/Kolkata", "Europe/London", "America/New_York",
                                  "Australia/Lord_Howe", "Asia/Kathmandu"])
@pytest.mark.parametrize("period", ["day", "week"])
def test_native_buckets_equal_djangos_trunc(settings, zone, period):
    """On SQLite local_period avoids Trunc's per-row Python function; the dates must not change."""
    settings.TIME_ZONE = zone
    seller = SellerFactory()
    rng = random.Random(zone)
    low, high = datetime(2024, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
    tz = ZoneInfo(zone)
    moments = [low + timedelta(seconds=rng.randrange(int((high - low).total_seconds()))) for _ in range(150)]
    # Around every transition, on both sides of local midnight.
    for end, _ in offset_segments(low, high, tz)[:-1]:
        moments += [end + timedelta(seconds=delta) for delta in (-3601, -1, 0, 1, 3600)]
    for day in range(0, 730, 7):
        midnight = datetime.combine((low + timedelta(days=day)).astimezone(tz).date(), datetime.min.time(), tz)
        moments += [midnight - timedelta(seconds=1), midnight]
    Product.objects.bulk_create([ProductFactory.build(seller=seller, created_at=moment) for moment in moments])
    products = Product.objects.all()
    rows = products.annotate(
        native=local_period(products, "created_at", period, low, high),
        trunc=Trunc("created_at", period, output_field=DateField()),
    ).values_list("native", "trunc")
    assert len(rows) == len(moments)
    assert [native for native, _ in rows] == [trunc for _, trunc in rows]


def test_unknown_period_is_refused():
    with pytest.raises(ValueError):
        local_period(Product.objects.all(), "created_at", "month", None, None)
