import csv
from pathlib import Path

from search.vocabulary import (
    CURATED_FILE, FILLER, Meaning, Vocabulary, label_forms, part_forms, read_curated, words_of,
)

ROOT = Path(__file__).resolve().parents[2]
CSV_FIELDS = {"gender": "gender", "master_category": "masterCategory", "sub_category": "subCategory",
              "article_type": "articleType", "base_colour": "baseColour", "usage": "usage",
              "season": "season"}


def test_every_curated_phrase_names_labels_the_shipped_catalog_uses():
    """A typo in the curated file would silently match nothing: every value must be a
    label of data/styles.csv, and no phrase may be listed twice."""
    with open(ROOT / "data" / "styles.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    labels = {field: {row[column] for row in rows} for field, column in CSV_FIELDS.items()}
    phrases = [line.split(",")[0] for line in CURATED_FILE.read_text().splitlines()[1:]
               if line and not line.startswith("#")]
    assert len(phrases) == len(set(phrases))
    curated = read_curated()
    assert len(curated) >= 80
    for phrase, meaning in curated.items():
        if meaning.field == FILLER:
            assert meaning.values == ()
        else:
            assert meaning.values, phrase
            assert set(meaning.values) <= labels[meaning.field], phrase


def test_the_examples_shoppers_use_are_curated():
    curated = read_curated()
    assert curated["sneakers"] == curated["trainers"] == Meaning(
        "article_type", ("Casual Shoes", "Sports Shoes"), everyday=True)
    assert curated["tee"] == Meaning("article_type", ("Tshirts",), everyday=True)
    assert curated["ladies"] == Meaning("gender", ("Women",), everyday=True)
    assert curated["kids"] == Meaning("gender", ("Boys", "Girls"), everyday=True)
    assert curated["hoodie"] == Meaning("article_type", ("Sweatshirts",), everyday=True)
    assert curated["pants"] == Meaning("article_type", ("Trousers", "Jeans", "Track Pants"), everyday=True)


def test_a_curated_file_naming_an_unknown_field_is_refused(tmp_path):
    bad = tmp_path / "vocabulary.csv"
    bad.write_text("phrase,field,values\nsneakers,article,Casual Shoes\n")
    try:
        read_curated(bad)
    except ValueError as error:
        assert "unknown field" in str(error)
    else:
        raise AssertionError("an unknown field was accepted")


def test_words_drop_punctuation_and_query_syntax():
    assert words_of("Men's T-Shirt") == ["mens", "t", "shirt"]
    assert words_of("jeans & !(red | blue):* <script>'; DROP--") == [
        "jeans", "red", "blue", "script", "drop"]
    assert words_of("%_\\") == []


def test_labels_are_found_by_their_singular_and_without_spaces():
    assert label_forms("Casual Shoes") == {"casual shoes", "casual shoe", "casualshoes", "casualshoe"}
    assert {"tshirts", "tshirt"} <= label_forms("Tshirts")
    assert "watch" in label_forms("Watches") and "sunglass" in label_forms("Sunglasses")
    assert {"perfume", "body mist"} <= part_forms("Perfume and Body Mist")
    assert "lip gloss" in label_forms("Lip Gloss")  # no "lip glos"


def vocabulary(**extra):
    labels = {"gender": ["Men", "Women", "Boys", "Girls"], "master_category": ["Accessories", "Apparel"],
              "sub_category": ["Accessories", "Topwear", "Watches"],
              "article_type": ["Tshirts", "Watches", "Casual Shoes", "Sports Shoes"],
              "base_colour": ["Navy Blue", "Blue", "NA"], "usage": ["Casual"], "season": ["Winter"], **extra}
    return Vocabulary(labels, read_curated())


def test_the_longest_phrase_wins_and_unexplained_words_are_kept():
    found, rest = vocabulary().parse(words_of("nike navy blue t shirt for boys"))
    assert found == [(1, ("navy", "blue"), Meaning("base_colour", ("Navy Blue",))),
                     (3, ("t", "shirt"), Meaning("article_type", ("Tshirts",), everyday=True)),
                     (6, ("boys",), Meaning("gender", ("Boys",)))]
    assert rest == ["nike"]


def test_the_most_specific_field_names_a_label_unless_a_broader_one_shares_its_name():
    words = vocabulary().phrases
    assert words["watches"] == Meaning("sub_category", ("Watches",))  # same set of products
    assert words["accessories"] == Meaning("master_category", ("Accessories",))
    assert "na" not in words  # "not labelled" is no colour


def test_curated_values_the_catalog_lacks_are_left_out():
    words = vocabulary(article_type=["Casual Shoes"]).phrases
    assert words["sneakers"] == Meaning("article_type", ("Casual Shoes",), everyday=True)
    assert "hoodie" not in words


def test_a_part_of_a_combined_label_never_hides_a_label_of_its_own():
    words = vocabulary(article_type=["Ties", "Ties and Cufflinks", "Perfume and Body Mist"]).phrases
    assert words["tie"] == words["ties"] == Meaning("article_type", ("Ties",))
    assert words["cufflink"] == Meaning("article_type", ("Ties and Cufflinks",))
    assert words["body mist"] == Meaning("article_type", ("Perfume and Body Mist",))


def test_filler_words_are_never_what_a_typo_becomes():
    words = vocabulary().words
    assert {"sneakers", "navy", "tshirts"} <= words
    assert not {"for", "wear", "nice", "something"} & words
