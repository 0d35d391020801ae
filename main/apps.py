from django.apps import AppConfig
from django.conf import settings
from PIL import Image


class MainConfig(AppConfig):
    name = "main"
    verbose_name = "Catalog"

    def ready(self):
        # Pillow checks every image it opens in this process (ML commands included) against
        # this budget from the header, before decoding: over twice the budget it refuses.
        # main.images refuses anything over the budget itself, with a clear message.
        Image.MAX_IMAGE_PIXELS = settings.MAX_IMAGE_PIXELS
