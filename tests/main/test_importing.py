import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from PIL import Image

from main.importing import import_catalog
from main.models import CatalogImport, Product
from ml.styles_csv import load_rows

HEADER = "id,gender,masterCategory,subCategory,articleType,baseColour,season,year,usage,productDisplayName\n"


def write_csv(path, *lines):
    path.write_text(HEADER + "".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def write_photo(folder, sku, size=(18, 24)):
    folder.mkdir(exist_ok=True)
    Image.new("RGB", size, (200, 30, 30)).save(folder / f"{sku}.jpg", "JPEG")


@pytest.fixture
def images(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    return folder


def test_reader_recovers_names_with_unquoted_commas(tmp_path):
    csv_path = write_csv(
        tmp_path / "s.csv",
        "44065,Men,Personal Care,Fragrance,Perfume and Body Mist,Blue,Spring,2017,Casual,"
        "Boss Men Perfume, After Shave Balm and Shower Gel Set",
    )
    rows, errors = load_rows(csv_path)
    assert errors == []
    assert rows[0]["productDisplayName"] == "Boss Men Perfume, After Shave Balm and Shower Gel Set"
    assert rows[0]["year"] == 2017


def test_reader_rejects_a_file_that_is_not_styles_csv(tmp_path):
    bad = tmp_path / "other.csv"
    bad.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(ValueError, match="header must be"):
        load_rows(bad)


@pytest.mark.django_db
def test_import_reports_every_bad_row_with_its_line_and_keeps_the_good_ones(tmp_path, images):
    csv_path = write_csv(
        tmp_path / "s.csv",
        "1,Men,Apparel,Topwear,Shirts,Blue,Summer,2012,Casual,Good Shirt",
        "2,Men,Apparel",
        "3,Men,Apparel,Topwear,Shirts,Blue,Summer,twenty,Casual,Bad Year",
        ",Men,Apparel,Topwear,Shirts,Blue,Summer,2012,Casual,No Id",
        "1,Men,Apparel,Topwear,Shirts,Blue,Summer,2012,Casual,Duplicate",
        "x9,Men,Apparel,Topwear,Shirts,Blue,Summer,2012,Casual,Letters in id",
        "5,Women,Footwear,Shoes,Heels,Black,Winter,,Party,",
    )
    report = import_catalog(csv_path, images)
    reasons = {error.line: error.reason for error in report.errors}
    assert reasons == {
        3: "expected 10 columns, found 3",
        4: "year 'twenty' is not a number",
        5: "missing id",
        6: "duplicate id 1 (first seen on line 2)",
        7: "id 'x9' is not a positive integer",
    }
    assert report.created == 2
    assert set(Product.objects.values_list("sku", flat=True)) == {"1", "5"}
    nameless = Product.objects.get(sku="5")
    assert nameless.name == "Black Heels"  # an empty name gets a readable fallback
    assert nameless.year is None


@pytest.mark.django_db
def test_reimport_updates_and_never_duplicates(tmp_path, images):
    first = write_csv(tmp_path / "a.csv", "1,Men,Apparel,Topwear,Shirts,Blue,Summer,2012,Casual,Blue Shirt")
    import_catalog(first, images)
    product = Product.objects.get(sku="1")
    product.price, product.stock = Decimal("123.00"), 7  # a seller's edits
    product.save()

    second = write_csv(
        tmp_path / "b.csv",
        "1,Men,Apparel,Topwear,Shirts,Navy Blue,Summer,2012,Casual,Navy Shirt",
        "2,Women,Apparel,Topwear,Tops,Red,Summer,2012,Casual,Red Top",
    )
    report = import_catalog(second, images)
    assert (report.created, report.updated, report.unchanged) == (1, 1, 0)
    assert Product.objects.count() == 2
    product.refresh_from_db()
    assert (product.name, product.base_colour) == ("Navy Shirt", "Navy Blue")
    assert (product.price, product.stock) == (Decimal("123.00"), 7)


@pytest.mark.django_db
def test_an_unchanged_file_is_skipped_unless_forced(tmp_path, images):
    csv_path = write_csv(tmp_path / "s.csv", "1,Men,Apparel,Topwear,Shirts,Blue,Summer,2012,Casual,Shirt")
    import_catalog(csv_path, images)
    assert import_catalog(csv_path, images).skipped_unchanged_file
    forced = import_catalog(csv_path, images, force=True)
    assert (forced.skipped_unchanged_file, forced.unchanged) == (False, 1)
    assert CatalogImport.objects.filter(finished_at__isnull=False).count() == 2


@pytest.mark.django_db
def test_photos_are_attached_where_they_exist(tmp_path, images, settings):
    write_photo(images, "1")
    (images / "3.jpg").write_bytes(b"not a jpeg at all")
    csv_path = write_csv(
        tmp_path / "s.csv",
        "1,Men,Apparel,Topwear,Shirts,Blue,Summer,2012,Casual,With Photo",
        "2,Men,Apparel,Topwear,Shirts,Blue,Summer,2012,Casual,Without Photo",
        "3,Men,Apparel,Topwear,Shirts,Blue,Summer,2012,Casual,Broken Photo",
    )
    report = import_catalog(csv_path, images)
    assert report.photos_attached == 1
    assert [(e.line, e.reason.split(" is ")[0]) for e in report.errors] == [
        (4, f"id 3: photo {images / '3.jpg'}")]
    assert report.without_photo == ["2"]
    with_photo = Product.objects.get(sku="1")
    assert with_photo.image.name == "products/catalog/1.jpg"
    assert (settings.MEDIA_ROOT / with_photo.image.name).is_file()
    assert not Product.objects.get(sku="2").image
    assert not Product.objects.get(sku="3").image

    # A photo that arrives later is attached by the next import.
    write_photo(images, "2")
    assert import_catalog(csv_path, images).photos_attached == 1
    assert Product.objects.get(sku="2").image.name == "products/catalog/2.jpg"


def read_pixel(path):
    with Image.open(path) as image:
        return image.size


@pytest.mark.django_db
def test_each_product_gets_its_best_photo_and_those_without_any_are_listed(tmp_path, settings):
    large, small = tmp_path / "images", tmp_path / "images_small"
    write_photo(large, "1", size=(180, 240))
    write_photo(small, "1", size=(60, 80))
    write_photo(small, "2", size=(60, 80))
    csv_path = write_csv(tmp_path / "s.csv", *[
        f"{i},Men,Apparel,Topwear,Shirts,Blue,Summer,2012,Casual,Shirt {i}" for i in (1, 2, 3)])
    report = import_catalog(csv_path, [large, small])
    assert (report.photos_attached, report.without_photo, report.errors) == (2, ["3"], [])
    photos = dict(Product.objects.values_list("sku", "image"))
    assert photos == {"1": "products/catalog/1.jpg", "2": "products/catalog/images_small/2.jpg",
                      "3": ""}
    assert read_pixel(settings.MEDIA_ROOT / photos["1"]) == (180, 240)
    assert read_pixel(settings.MEDIA_ROOT / photos["2"]) == (60, 80)
    # Cards show thumbnails at their own size: a small photo gets a copy enlarged 2x, made once.
    thumbnails = dict(Product.objects.values_list("sku", "thumbnail"))
    assert thumbnails["1"] == photos["1"]
    assert thumbnails["2"] == "products/thumbs/catalog/2.jpg"
    assert read_pixel(settings.MEDIA_ROOT / thumbnails["2"]) == (120, 160)
    made = (settings.MEDIA_ROOT / thumbnails["2"]).stat().st_mtime_ns
    again = import_catalog(csv_path, [large, small], force=True)
    assert (again.updated, again.unchanged) == (0, 3)
    assert (settings.MEDIA_ROOT / thumbnails["2"]).stat().st_mtime_ns == made


@pytest.mark.django_db
def test_an_existing_install_picks_up_new_and_better_photos_without_a_wipe(tmp_path, settings):
    large, small = tmp_path / "images", tmp_path / "images_small"
    for sku in ("1", "2"):
        write_photo(small, sku, size=(60, 80))
    csv_path = write_csv(tmp_path / "s.csv", *[
        f"{i},Men,Apparel,Topwear,Shirts,Blue,Summer,2012,Casual,Shirt {i}" for i in (1, 2)])
    # Yesterday's install: only one folder, the small photos, at the best folder's names.
    import_catalog(csv_path, small)
    assert read_pixel(settings.MEDIA_ROOT / "products/catalog/1.jpg") == (60, 80)
    before = Product.objects.get(sku="1").updated_at

    write_photo(large, "1", size=(180, 240))
    report = import_catalog(csv_path, [large, small])
    assert (report.updated, report.unchanged, report.photos_attached) == (2, 0, 2)
    product = Product.objects.get(sku="1")
    assert product.image.name == "products/catalog/1.jpg"
    assert read_pixel(settings.MEDIA_ROOT / product.image.name) == (180, 240)
    assert product.updated_at > before      # cached cards of it are refreshed
    assert product.thumbnail.name == product.image.name
    assert Product.objects.get(sku="2").image.name == "products/catalog/images_small/2.jpg"

    again = import_catalog(csv_path, [large, small], force=True)
    assert (again.updated, again.unchanged, again.photos_attached) == (0, 2, 0)


@pytest.mark.django_db
def test_an_unreadable_best_photo_is_reported_by_id_and_the_next_one_used(tmp_path):
    large, small = tmp_path / "images", tmp_path / "images_small"
    large.mkdir()
    (large / "7.jpg").write_bytes(b"\xff\xd8 truncated")
    write_photo(small, "7", size=(60, 80))
    csv_path = write_csv(tmp_path / "s.csv", "7,Men,Apparel,Topwear,Shirts,Blue,Summer,2012,Casual,Shirt")
    report = import_catalog(csv_path, [large, small])
    assert [(e.line, e.reason.split(" (")[0]) for e in report.errors] == [
        (2, f"id 7: photo {large / '7.jpg'} is unreadable")]
    assert Product.objects.get(sku="7").image.name == "products/catalog/images_small/7.jpg"


@pytest.mark.django_db
def test_a_sellers_own_photo_is_never_replaced_by_a_catalog_photo(tmp_path):
    large = tmp_path / "images"
    csv_path = write_csv(tmp_path / "s.csv", "1,Men,Apparel,Topwear,Shirts,Blue,Summer,2012,Casual,Shirt")
    import_catalog(csv_path, large)
    Product.objects.filter(sku="1").update(image="products/abc123.jpg", thumbnail="products/thumbs/abc123.jpg")
    write_photo(large, "1", size=(180, 240))
    report = import_catalog(csv_path, large)
    assert (report.photos_attached, report.without_photo) == (0, [])
    assert Product.objects.get(sku="1").image.name == "products/abc123.jpg"


def test_the_import_command_takes_several_photo_folders_best_first(tmp_path, settings, db):
    large, small = tmp_path / "images", tmp_path / "images_small"
    write_photo(large, "1", size=(180, 240))
    write_photo(small, "2", size=(60, 80))
    csv_path = write_csv(tmp_path / "s.csv", *[
        f"{i},Men,Apparel,Topwear,Shirts,Blue,Summer,2012,Casual,Shirt {i}" for i in (1, 2, 3)])
    out, err = io.StringIO(), io.StringIO()
    call_command("import_catalog", "--styles", str(csv_path), "--images", str(large), str(small),
                 stdout=out, stderr=err, verbosity=0)
    assert "2 photos attached" in out.getvalue()
    assert "for 1 products (ids 3)" in err.getvalue()


@pytest.mark.django_db
def test_limit_and_demo_values_are_plausible(tmp_path, images):
    lines = [f"{i},Men,Apparel,Topwear,Tshirts,Blue,Summer,2012,Casual,Tee {i}" for i in range(1, 51)]
    import_catalog(write_csv(tmp_path / "s.csv", *lines), images, limit=20)
    products = list(Product.objects.all())
    assert len(products) == 20
    assert all(Decimal("399") <= p.price <= Decimal("2999") and p.price % 100 == 99 for p in products)
    assert all(0 <= p.stock <= 40 for p in products)
    assert {p.seller.slug for p in products} == {"urban-threads"}


@pytest.mark.django_db
def test_command_prints_a_summary_and_reports_rows_on_stderr(tmp_path, images):
    csv_path = write_csv(
        tmp_path / "s.csv",
        "1,Men,Apparel,Topwear,Shirts,Blue,Summer,2012,Casual,Shirt",
        "2,Men",
    )
    out, err = io.StringIO(), io.StringIO()
    call_command("import_catalog", styles=str(csv_path), images=str(images), stdout=out, stderr=err, verbosity=0)
    assert "1 created" in out.getvalue() and "1 rows reported" in out.getvalue()
    assert f"{csv_path}: line 3: expected 10 columns, found 2" in err.getvalue()


@pytest.mark.django_db
def test_command_refuses_a_missing_file_and_a_bad_limit(tmp_path):
    with pytest.raises(CommandError, match="No such file"):
        call_command("import_catalog", styles=str(tmp_path / "missing.csv"), verbosity=0)
    with pytest.raises(CommandError, match="--limit"):
        call_command("import_catalog", styles=str(tmp_path / "missing.csv"), limit=0, verbosity=0)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner statistics")
@pytest.mark.django_db(transaction=True)
def test_an_import_leaves_the_planner_statistics_of_what_it_loaded(tmp_path, images):
    def analyzed(table):
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [table])
            return cursor.fetchone()[0]

    rows = [f"{n},Men,Apparel,Topwear,Shirts,Blue,Summer,2012,Casual,Shirt {n}" for n in range(1, 41)]
    import_catalog(write_csv(tmp_path / "s.csv", *rows), images)
    assert analyzed("main_product") == 40 and analyzed("main_facetcount") >= 1
