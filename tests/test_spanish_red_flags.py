"""Red flags in Spanish: knowledge/red_flags_es.yml read by the same matcher as the English
list, with the Spanish negation and context cues of that file."""

import pytest

from clinic.red_flags import SPANISH, RedFlagsError, default_matcher, parse_red_flags


@pytest.mark.parametrize(
    "text",
    [
        "me sale pus y tengo fiebre",
        "no puedo respirar",
        "ya no puedo respirar",
        "la hinchazón no para de crecer",
        # Accents are often left out, by SMS especially.
        "la hinchazon no para de crecer",
        "no para de sangrar",
        "tengo los labios muy hinchados",
        "tengo una reacción alérgica",
        "Sí, tengo fiebre",
        "no, tengo fiebre",
        # A negation ends at "pero", "y" or a comma: what follows is still told.
        "no tengo fiebre pero me sale pus",
        "no tengo fiebre y me sale pus",
        "no sé qué me pasa, tengo fiebre",
        # Unsure still counts (favour recall).
        "creo que tengo fiebre",
    ],
)
def test_a_spanish_red_flag_is_urgent(text: str) -> None:
    assert default_matcher(SPANISH).is_urgent(text)


@pytest.mark.parametrize(
    "text",
    [
        "no tengo fiebre",
        "sin fiebre ni pus",
        "ni fiebre ni pus",
        "nunca tuve fiebre",
        "ya no tengo fiebre",
        "mi hermana tiene fiebre",
        "¿y si me sale pus?",
        "soy alérgica a la penicilina",
        "¿Duele el microneedling?",
        "hola, quiero una cita",
    ],
)
def test_a_negated_or_someone_elses_or_no_red_flag_is_not_urgent(text: str) -> None:
    assert not default_matcher(SPANISH).is_urgent(text)


def test_urgent_alone_counts_only_in_a_message_about_the_clinic() -> None:
    matcher = default_matcher(SPANISH)
    assert matcher.is_urgent("es urgente")
    assert not matcher.is_urgent("es urgente", about_the_clinic=False)


def test_the_english_matcher_keeps_its_own_cues() -> None:
    # The Spanish file's cues do not leak into the English matcher, nor its phrases.
    assert default_matcher().is_urgent("there's pus and a fever")
    assert not default_matcher().is_urgent("no fever")
    assert not default_matcher().is_urgent("tengo fiebre")


def test_a_file_in_another_language_needs_its_own_cues() -> None:
    with pytest.raises(RedFlagsError, match="needs its own negation and context cues"):
        parse_red_flags({"language": "es", "red_flags": {"infection": ["fiebre"]}})
    with pytest.raises(RedFlagsError, match="two-letter language code"):
        parse_red_flags({"language": "Spanish", "red_flags": {"infection": ["fiebre"]}})
    flags = parse_red_flags(
        {
            "language": "es",
            "red_flags": {"infection": ["fiebre"]},
            "lay_context": [["sin", "NEGATED_EXISTENCE", "FORWARD"]],
        }
    )
    assert flags.language == "es"
    assert flags.lay_context == (("sin", "NEGATED_EXISTENCE", "FORWARD"),)
