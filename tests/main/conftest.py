import pytest

import shop_ml.facade


@pytest.fixture
def visual_model(monkeypatch):
    """Stands in for shop_ml.facade.similar_to_image; `answer` is what it returns."""

    class Model:
        answer = []
        calls = []

    def similar_to_image(image, k):
        Model.calls.append((image.mode, image.size, k))
        return Model.answer

    monkeypatch.setattr(shop_ml.facade, "similar_to_image", similar_to_image)
    return Model
