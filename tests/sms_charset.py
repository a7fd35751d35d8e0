"""What an SMS can carry in GSM-7: the tests check every SMS reply against it (replies are
written GSM-7 at build time, so the channel itself never needs the table). Spanish replies
are the exception: correct Spanish needs á í ó ú, which GSM-7 lacks (é ñ ü ¿ ¡ it has), so
they go as UCS-2, still within the same 320 characters."""

from typing import List

# The GSM 03.38 basic character set and its extension table: text outside it is sent
# as UCS-2, which cuts a segment from 153 to 67 characters and may garble on old phones.
GSM7_BASIC = (
    "@\u00a3$\u00a5\u00e8\u00e9\u00f9\u00ec\u00f2\u00c7\n\u00d8\u00f8\r\u00c5\u00e5"
    "\u0394_\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039e\u00c6\u00e6\u00df\u00c9"
    " !\"#\u00a4%&'()*+,-./0123456789:;<=>?"
    "\u00a1ABCDEFGHIJKLMNOPQRSTUVWXYZ\u00c4\u00d6\u00d1\u00dc\u00a7"
    "\u00bfabcdefghijklmnopqrstuvwxyz\u00e4\u00f6\u00f1\u00fc\u00e0"
)
GSM7_EXTENSION = "^{}\\[~]|\u20ac\f"
GSM7 = frozenset(GSM7_BASIC + GSM7_EXTENSION)


def non_gsm7(text: str) -> List[str]:
    """The characters of `text` an SMS cannot carry in GSM-7."""
    return sorted({char for char in text if char not in GSM7})


# The letters outside GSM-7 a Spanish reply may use (it is then sent as UCS-2).
SPANISH_UCS2 = frozenset("áíóúÁÍÓÚ")
