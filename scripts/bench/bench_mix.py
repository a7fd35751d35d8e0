"""The benchmark's message mixes: one conversation shape, filled for each bot.

Both conversations have 10 messages in the same shape: an opening, questions the bot was
built for and one it was not, a flow to a known outcome, a closing question. Ours runs the
full screening to "Postpone" (tests/test_screening_rest.py), the patient's yes to the
consent before its questions included (one question fewer before it); the starter bot
runs its mood stories to "Great, carry on!" (its deny path ends in silence after an
off-topic turn, so the mix avoids a bare "no").
"""

from typing import List

from scripts.bench.bench_client import Turn

OURS: List[Turn] = [
    Turn("hello"),
    Turn("so what is microneedling?"),
    Turn("how much does microneedling cost", expect="Our article doesn't say what it costs."),
    Turn("am i a good candidate for microneedling?"),
    Turn("yes"),  # to the consent
    Turn("no"),
    Turn("no"),
    Turn("yes"),
    Turn("no", expect="Result of the check: Postpone."),
    Turn("how soon do results show"),
]

STARTER: List[Turn] = [
    Turn("hi there"),
    Turn("are you a bot?", expect="I am a bot"),
    Turn("am I talking to a human?", expect="I am a bot"),
    # The starter bot has no fallback: depending on its training this gets a greeting or silence.
    Turn("what's the weather in Paris tomorrow?", silence_ok=True),
    Turn("hello", expect="How are you?"),
    Turn("very unhappy", expect="Here is something to cheer you up"),
    Turn("yes", expect="Great, carry on!"),
    Turn("hey", expect="How are you?"),
    Turn("great", expect="Great, carry on!"),
    Turn("goodbye", expect="Bye"),
]

# What start-up timing posts until the first reply arrives.
STARTUP_TURN = {"ours": Turn("hello"), "starter": Turn("hello")}
