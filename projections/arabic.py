"""Arabic in the ledger's texts: whether a text holds it, and its normalization for search.

Arabic is written with optional diacritics (tashkeel), decorative tatweel,
several alef and yeh forms, and two sets of digits; a reader searching for
"غويران" must find "غُوَيران". SQLite's unicode61 tokenizer folds Latin
diacritics but knows none of this, so it is done here, explicitly.
"""

from __future__ import annotations

import re
import unicodedata

# Harakat, tanwin, shadda, sukun, the Quranic marks and the superscript alef.
_TASHKEEL = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e8\u06ea-\u06ed]")
_TATWEEL = "\u0640"
_LETTER_FOLDS = (
    ("\u0623", "\u0627"),  # أ → ا
    ("\u0625", "\u0627"),  # إ → ا
    ("\u0622", "\u0627"),  # آ → ا
    ("\u0671", "\u0627"),  # ٱ → ا
    ("\u0649", "\u064a"),  # ى → ي
    ("\u0629", "\u0647"),  # ة → ه
)
_DIGITS = re.compile("[\u0660-\u0669\u06f0-\u06f9]")
_DIGIT_FOLD = str.maketrans(
    {
        **{chr(0x0660 + d): str(d) for d in range(10)},  # ٠–٩
        **{chr(0x06F0 + d): str(d) for d in range(10)},  # ۰–۹ (Persian forms)
    }
)


_ARABIC_SCRIPT = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")
"""The Arabic blocks of Unicode: Arabic, its supplement and extended-A, and the
presentation forms A and B."""


def is_arabic(text: object) -> bool:
    """Whether a text holds Arabic script (an output then sets it right to left)."""
    return isinstance(text, str) and _ARABIC_SCRIPT.search(text) is not None


def normalize(text: str) -> str:
    """The search form of a text: NFC, tashkeel and tatweel removed, letters and digits folded."""
    text = unicodedata.normalize("NFC", text)
    if text.isascii():  # every mark and letter changed here is outside ASCII
        return text
    text = _TASHKEEL.sub("", text).replace(_TATWEEL, "")
    # One str.replace per letter: str.translate looks each character of a non-ASCII
    # text up in its table, which took twice as long for an Arabic sentence.
    for letter, folded in _LETTER_FOLDS:
        text = text.replace(letter, folded)
    if _DIGITS.search(text):
        text = text.translate(_DIGIT_FOLD)
    return text
