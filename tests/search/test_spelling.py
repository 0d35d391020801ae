import pytest

from search import spelling
from search.models import SearchTerm
from search.spelling import edit_distance, trigrams


def test_edit_distance_counts_a_swap_of_neighbours_once():
    assert edit_distance("tshrit", "tshirt") == 1
    assert edit_distance("sneekers", "sneakers") == 1
    assert edit_distance("handbg", "handbag") == 1
    assert edit_distance("jeans", "jeans") == 0
    assert edit_distance("", "abc") == 3


def test_trigrams_are_padded_like_pg_trgm():
    assert trigrams("cat") == {"  c", " ca", "cat", "at "}


@pytest.fixture
def terms(db):
    SearchTerm.objects.bulk_create([
        SearchTerm(word="sneakers", frequency=1015), SearchTerm(word="seekers", frequency=2),
        SearchTerm(word="tshirt", frequency=458), SearchTerm(word="tshirts", frequency=717),
        SearchTerm(word="jeans", frequency=637), SearchTerm(word="teens", frequency=36),
        SearchTerm(word="handbag", frequency=1123), SearchTerm(word="waist", frequency=50),
    ])
    spelling.terms.forget()
    yield
    spelling.terms.forget()


def test_unknown_words_become_the_closest_known_word(terms):
    assert spelling.correct(["sneekers", "tshrit", "handbg", "jeens"]) == [
        ("sneekers", "sneakers"), ("tshrit", "tshirt"), ("handbg", "handbag"), ("jeens", "jeans")]


def test_known_short_numeric_and_far_words_are_left_alone(terms):
    assert spelling.correct(["jeans", "xl", "2012", "umbrella"]) == [
        ("jeans", None), ("xl", None), ("2012", None), ("umbrella", None)]


def test_a_tie_in_distance_goes_to_the_word_more_products_use(terms):
    # "jeens" is one edit from both "jeans" and "teens".
    assert spelling.correction("jeens", spelling.terms.get().frequency) == "jeans"


def test_without_a_vocabulary_nothing_is_corrected(db):
    spelling.terms.forget()
    assert spelling.correct(["sneekers"]) == [("sneekers", None)]


def test_a_short_word_keeps_its_first_letter(terms):
    SearchTerm.objects.create(word="rose", frequency=28)
    spelling.terms.forget()
    assert spelling.correct(["nose"]) == [("nose", None)]


def test_a_rare_word_one_slip_from_a_common_one_is_a_typo(terms):
    SearchTerm.objects.bulk_create([SearchTerm(word="whit", frequency=1), SearchTerm(word="white", frequency=5148),
                                    SearchTerm(word="dizzy", frequency=9)])
    spelling.terms.forget()
    assert spelling.correct(["whit", "dizzy"]) == [("whit", "white"), ("dizzy", None)]
