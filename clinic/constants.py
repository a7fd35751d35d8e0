"""Names that both servers and the report use, defined once: the screening's outcome labels,
intents, slots, responses, handoff reasons and the phone channels (SMS, WhatsApp).

Rasa's own files (domain.yml, data/, config.yml) spell the same names; these are the ones
Python code of more than one package reads or writes.
"""

# The contraindication check's outcomes (the `screening_outcome` slot's values), strongest
# first, as knowledge/contraindications.yml lists them and the report shows them.
NOT_RECOMMENDED = "Not recommended"
POSTPONE = "Postpone"
CHECK_WITH_DOCTOR = "Check with your doctor first"
NO_CONTRAINDICATION = "No contraindication found"
OUTCOMES = (NOT_RECOMMENDED, POSTPONE, CHECK_WITH_DOCTOR, NO_CONTRAINDICATION)

# Intents whose reply is the honest "can't answer" (clinic/answerability.py may add a
# related answer from the article).
UNANSWERED_INTENTS = ("out_of_scope", "nlu_fallback")

# Slots the action server sets and the Rasa server, the staff alerts or the report read.
SCREENING_OUTCOME_SLOT = "screening_outcome"
HANDOFF_SLOT = "handoff_reason"  # set by actions/actions.py ActionFlagHandoff
CALLBACK_SLOT = "callback_agreed"  # the patient agreed to be called on this number (SMS)
DELETION_SLOT = "conversation_deleted"  # read by stores/tracker_store.py
# The language of the patient's latest typed message, by name ("English", "Spanish",
# "French"): an entity the input guard sets on every typed message and the slot it fills;
# the fixed replies have Spanish variations chosen by it (domain.yml).
LANGUAGE_SLOT = "patient_language"
ENGLISH, SPANISH = "English", "Spanish"

# The handoff_reason slot's values (staff/alert_rules.py says them in words).
REQUESTED = "requested"  # the patient asked for a person
UPSET = "upset"  # the patient is upset
REPEATED_FALLBACK = "repeated_fallback"  # two questions in a row the bot could not answer

# Responses of the domain that code looks for by name.
URGENT_RESPONSE = "utter_urgent"
CANNOT_ANSWER_RESPONSE = "utter_cannot_answer"

# Rasa's input_channel name of the SMS channel (channels/twilio.py).
SMS_CHANNEL = "twilio"
# ... and of WhatsApp through Twilio (channels/whatsapp.py); its sender ids are
# "whatsapp:+<number>", so a number's WhatsApp conversation is not its SMS conversation.
WHATSAPP_CHANNEL = "whatsapp"
WHATSAPP_PREFIX = "whatsapp:"
# The channels whose conversation is a phone number's: STOP there is the opt-out keyword
# (so the screening offers a numbered "Stop the check" instead of saying "stop"), and the
# clinic can call the patient back on that number once they agree.
PHONE_CHANNELS = (SMS_CHANNEL, WHATSAPP_CHANNEL)

# Rasa's input_channel and response channel name of the phone line (channels/twilio_voice.py).
VOICE_CHANNEL = "twilio_voice"
