"""Every spoken variant rendered by a real text-to-speech engine (espeak-ng, installed by
`make speech`): each is said in well under the 20 seconds a caller will listen to."""

import shutil
import subprocess
import wave
from pathlib import Path
from typing import List, Tuple

import pytest
import yaml

from clinic.constants import VOICE_CHANNEL
from scripts.buildtime.build_domain import build_domain

ESPEAK = shutil.which("espeak-ng") or "/usr/bin/espeak-ng"
MAX_SECONDS = 20.0
# espeak-ng's default English speed (words per minute); Twilio's voices speak at about it.
WORDS_PER_MINUTE = "175"


# espeak-ng's voice for a variation said in Spanish (its `custom: spoken_language: es`).
ESPEAK_VOICES = {None: "en-us", "es": "es-419"}
Spoken = Tuple[str, str]  # the text and espeak-ng's voice


def spoken_texts(out: Path) -> List[Spoken]:
    texts = []
    for path in sorted(out.glob("*.yml")):
        responses = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("responses", {})
        for variations in responses.values():
            texts.extend(
                (v["text"], ESPEAK_VOICES[(v.get("custom") or {}).get("spoken_language")])
                for v in variations
                if v.get("channel") == VOICE_CHANNEL
            )
    return texts


def seconds_of_speech(text: str, wav: Path, voice: str = "en-us") -> float:
    subprocess.run(
        [ESPEAK, "-v", voice, "-s", WORDS_PER_MINUTE, "-w", str(wav), text],
        check=True,
        capture_output=True,
        timeout=60,
    )
    with wave.open(str(wav)) as audio:
        return audio.getnframes() / audio.getframerate()


@pytest.fixture(scope="module")
def texts(tmp_path_factory: pytest.TempPathFactory) -> List[Spoken]:
    assert Path(ESPEAK).exists(), "espeak-ng is missing: run `make speech` (Debian's espeak-ng)"
    return spoken_texts(build_domain(tmp_path_factory.mktemp("domain")))


def test_every_spoken_variant_is_said_in_under_twenty_seconds(
    texts: List[Spoken], tmp_path: Path
) -> None:
    assert len(texts) > 40
    assert any(voice == "es-419" for _, voice in texts)  # the Spanish ones in Spanish
    durations = {
        text: seconds_of_speech(text, tmp_path / "said.wav", voice) for text, voice in texts
    }
    too_long = {text: round(s, 1) for text, s in durations.items() if s >= MAX_SECONDS}
    assert not too_long
    assert all(s > 0.5 for s in durations.values())  # something was said


def test_a_web_reply_would_be_too_long_to_listen_to(tmp_path: Path) -> None:
    """The measure can fail: the web disclaimer, said whole, is over the limit."""
    domain = yaml.safe_load(build_domain(tmp_path / "d").joinpath("domain.yml").read_text())
    web = next(v for v in domain["responses"]["utter_capabilities"] if not v.get("channel"))
    assert seconds_of_speech(web["text"], tmp_path / "web.wav") >= MAX_SECONDS
