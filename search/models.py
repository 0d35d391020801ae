from django.db import models


class SearchTerm(models.Model):
    """A word of the catalog's vocabulary (product names and the search vocabulary):
    what a misspelt query word is corrected to. Rebuilt by `import_catalog` and
    `build_search_vocabulary`, and on the first search when empty."""

    word = models.CharField(max_length=40, unique=True)
    frequency = models.PositiveIntegerField(default=1, help_text="Active products naming it.")

    class Meta:
        ordering = ["word"]

    def __str__(self):
        return self.word
