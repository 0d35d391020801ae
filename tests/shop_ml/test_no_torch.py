"""A web process serves photo search and the article-type guess without importing torch.

torch costs a web worker ~670 MB (issue 10); the image encoder is served as an
ONNX graph by ONNX Runtime instead. The check runs in a fresh interpreter,
because this test process itself imports torch to build the tiny encoder.
"""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ml.vision import search as image_search
from ml.vision.runtime import OnnxEncoder
from tests.ml.test_vision import catalog, jpeg_bytes, photo, tiny_onnx

ROOT = Path(__file__).resolve().parents[2]

WEB_PROCESS = """
import json, sys
import django
django.setup()
from django.urls import get_resolver
from fashionshop.wsgi import application  # what gunicorn loads
get_resolver().url_patterns               # every view module imported
from shop_ml import facade
facade.warm_up()                          # every model loaded, as gunicorn does before forking
found = facade.similar_to_image(sys.argv[1], k=3)
guess = facade.predict_article_type_from_image(sys.argv[1])
print(json.dumps({"found": found, "guess": guess, "status": facade.visual_search_status(),
                  "torch": sorted(m for m in sys.modules if m == "torch" or m.startswith("torch."))}))
"""


@pytest.mark.parametrize("with_index", [True, False])
def test_a_warm_web_process_answers_photo_queries_without_importing_torch(tmp_path, with_index):
    models = tmp_path / "models"
    encoder_path = tiny_onnx(tmp_path / "enc.onnx", classes=["Shirts", "Jeans", "Watches"])
    if with_index:
        image_search.build(models, catalog(6), OnnxEncoder(encoder_path, colour_weight=0.4),
                           progress=False)
    query = tmp_path / "query.jpg"
    query.write_bytes(jpeg_bytes(photo((200, 30, 30), seed=1)))
    env = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "fashionshop.settings",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "MODELS_DIR": str(models),
           "MEDIA_ROOT": str(tmp_path / "media"), "IMAGE_ENCODER": str(encoder_path),
           "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-c", WEB_PROCESS, str(query)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    answer = json.loads(run.stdout.strip().splitlines()[-1])
    assert answer["torch"] == []
    assert [c for c, _ in answer["guess"]] and len(answer["guess"]) == 3
    assert answer["status"]["image-classifier"]["loaded"] is True
    if with_index:
        assert len(answer["found"]) == 3
        assert answer["status"]["image-embeddings"]["loaded"] is True
    else:
        assert answer["found"] == []   # no index yet: photo search answers nothing, no error
