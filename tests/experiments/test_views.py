import pytest
from django.urls import reverse

from experiments import selectors, services
from experiments.models import Click, Impression
from tests.factories import ProductFactory, UserFactory
from tests.experiments.test_services import request_for


@pytest.fixture
def impression(experiment):
    product = ProductFactory(sku="15970")
    [impression] = services.record_impressions(
        request_for(UserFactory()), experiment.key, "hybrid", "similar", [product.sku])
    return impression


@pytest.mark.django_db
def test_click_link_records_the_click_and_opens_the_product(client, impression):
    response = client.get(selectors.click_url(impression))
    assert response.status_code == 302
    assert response["Location"] == reverse("main:product_detail", args=["15970"])
    assert Click.objects.filter(impression=impression).count() == 1
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


@pytest.mark.django_db
def test_click_link_ignores_any_redirect_target_in_the_request(client, impression):
    response = client.get(selectors.click_url(impression), {"next": "https://evil.example/"})
    assert response["Location"] == reverse("main:product_detail", args=["15970"])


@pytest.mark.django_db
@pytest.mark.parametrize("token", ["1", "1:forged", "abc", "%s", "9999:x"])
def test_tampered_click_links_answer_404_and_record_nothing(client, impression, token):
    response = client.get(reverse("experiments:click", args=[token]))
    assert response.status_code == 404
    assert Click.objects.count() == 0


@pytest.mark.django_db
def test_a_link_signed_for_one_impression_cannot_be_moved_to_another(client, impression):
    other = Impression.objects.create(experiment=impression.experiment, variant=impression.variant,
                                      sku="2", position=2, surface="similar")
    token = selectors.click_url(impression).split("/")[-2]
    forged = f"{other.pk}:{token.split(':', 1)[1]}"
    assert client.get(reverse("experiments:click", args=[forged])).status_code == 404
    assert Click.objects.count() == 0


@pytest.mark.django_db
def test_click_link_for_a_deleted_impression_is_404(client, impression):
    url = selectors.click_url(impression)
    impression.delete()
    assert client.get(url).status_code == 404


@pytest.mark.django_db
def test_click_link_refuses_post(client, impression):
    assert client.post(selectors.click_url(impression)).status_code == 405


@pytest.mark.django_db
def test_results_page_is_for_staff_only(client, experiment):
    url = reverse("experiments:results")
    assert client.get(url).status_code == 302
    client.force_login(UserFactory())
    response = client.get(url)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    client.force_login(UserFactory(is_staff=True))
    response = client.get(url)
    assert response.status_code == 200
    assert "similar-recs" in response.content.decode()


@pytest.mark.django_db
def test_results_page_ignores_an_unknown_surface(client, impression):
    client.force_login(UserFactory(is_staff=True))
    response = client.get(reverse("experiments:results"), {"surface": "<script>"})
    assert response.status_code == 200
    assert response.context["surface"] == ""


@pytest.mark.django_db
def test_admin_pages_of_every_experiments_model_render(client, impression):
    services.record_click(impression)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    for model in ("experiment", "variant", "impression", "click", "suggestionoutcome"):
        assert client.get(reverse(f"admin:experiments_{model}_changelist"), {"q": "x"}).status_code == 200
