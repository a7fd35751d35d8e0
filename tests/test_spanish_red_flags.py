"""Red flags in Spanish: knowledge/red_flags_es.yml read by the same matcher as the English
list, with the Spanish negation and context cues of that file."""

import pytest

from clinic.red_flags import SPANISH, RedFlagsError, default_matcher, parse_red_flags
from clinic.urgency_classifier import EXAMPLE_FILES, load_examples
from scripts.evaluation.spanish_reader_folds import folds


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
        # The 5th blind set's kinds: numbness, speech, the chest, dizziness, colour.
        "no siento la mitad de la cara",
        "se me duerme la lengua",
        "estoy hablando con la lengua trabada",
        "siento un peso en el pecho",
        "me da vueltas todo",
        "mi hermana me dice que tengo los labios azules",
        "no me para de salir sangre",
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
        # Near the 5th set's phrases, and not urgent.
        "no siento dolor fuerte",
        "me quedé dormida con la crema en la cara",
        "tengo la mano dormida de dormir encima",
        "no me puedo levantar temprano mañana, ¿hay cita en la tarde?",
        "¿puedo usar ácido hialurónico después?",
        "¿puedo tomar agua o té verde?",
        "¿Es posible que me dé visión borrosa si me lo hacen cerca de los ojos?",
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


# The known false alarms of the sets the list was tuned on, and why they are left: each new
# one (or any missed urgent message) fails the test below.
KNOWN_FALSE_ALARMS = {
    # "¿es normal que ...?" is also how a patient with pus asks: favour recall.
    "¿es normal que salga pus después? pregunto por si acaso",
    # "y" ends the scope of "el año pasado": a past reaction told with "y" stays urgent.
    "el año pasado tuve alergia a una crema y se me hincharon los labios, ¿debo avisarles "
    "antes de la cita?",
    # "urgencias" in a question of its own, after the what-if.
    "¿Qué pasa si me llega a salir pus? ¿Los llamo o voy a urgencias?",
    # A year is not read as long ago.
    "En 2022 me dio urticaria con una crema, ¿lo tengo q avisar?",
    # "ayer" is past, not long ago, and "hoy estoy perfecta" is not read.
    "ayer me sentí un poco mareada en la sala de espera pero fue por no desayunar, hoy "
    "estoy perfecta",
    # "y" ends the sister's scope; "le" may be the scab's ("le sale un líquido verde").
    "mi hermana se hizo microneedling y le salieron ampollas, a mí me puede pasar?",
    # "pero ya se me quitó" is not read back onto the swelling before it.
    "La semana pasada se me hinchó un poco el párpado pero ya se me quitó del todo, ¿lo "
    "comento en la próxima cita?",
    # "yo también soy alérgica" is the patient's own "alérgica": favour recall.
    "Mi mamá tuvo ronchas con una crema hace años, ¿eso quiere decir que yo también soy alérgica?",
}


def test_the_blind_sets_the_list_was_tuned_on_are_read_as_tuned() -> None:
    """The first five blind sets of knowledge/urgent_examples_es.yml (275 urgent messages
    and 275 others), which the phrase list was extended from: every urgent one is found
    by the list alone, the others are not, apart from the false alarms named above.
    Before the tuning, the list found 119 of the first four sets' 215 and 42 of the 5th
    set's 60. (The 6th set was added for the learned reader, not for the list.)"""
    sets = folds(load_examples(EXAMPLE_FILES[SPANISH]))[:5]
    matcher = default_matcher(SPANISH)
    urgent = [text for found, _ in sets for text in found]
    calm = [text for _, others in sets for text in others]
    assert len(urgent) == len(calm) == 275
    missed = [text for text in urgent if not matcher.is_urgent(text)]
    alarms = {text for text in calm if matcher.is_urgent(text)}
    assert not missed
    assert alarms <= KNOWN_FALSE_ALARMS, alarms - KNOWN_FALSE_ALARMS


@pytest.mark.parametrize(
    "text",
    [
        "se me hincharon los labios y la lengua",
        "la lengua se me está hinchando",
        "veo borroso desde la sesión",
        "me sangra y no se detiene",
        "me sale un líquido amarillento",
        # "toda la cara" is a longer target than "cara": "hinchó ... cara" still counts.
        "se me hinchó toda la cara",
    ],
)
def test_a_line_of_alternatives_names_each_part_and_form(text: str) -> None:
    """ "a|b ... c|d" in the file: either word before, either word after."""
    assert default_matcher(SPANISH).is_urgent(text)


@pytest.mark.parametrize(
    "text",
    [
        "una amiga tuvo una reacción alérgica",
        "hace dos años tuve una infección en la piel",
        "si se me hinchan los labios, ¿debería llamar?",
        "se siente como una quemadura de sol leve",
        "leí que puede dar reacción alérgica, ¿qué tan común es?",
        "la vez pasada se me hincharon un poco los labios",
        "si la piel se pone negra o gris eso es grave verdad?",
    ],
)
def test_other_people_long_ago_and_what_ifs_are_not_urgent(text: str) -> None:
    assert not default_matcher(SPANISH).is_urgent(text)
