"""How a label reads inside a sentence, in the active language."""

from django.utils.translation import get_language


def in_sentence(label) -> str:
    """A field's or filter's label in the middle of a sentence: English writes it in lower case
    ("Enter the contact's email address."); German keeps its nouns capitalised, so the label
    stays as it is in any other language."""
    text = str(label)
    language = get_language() or "en"
    return text.lower() if language.split("-")[0] == "en" else text
