"""REST conversation ids for tests: issued with the servers' own installation secret."""

from channels import conversation_ids
from scripts.serve import conversation_id_secret


def new_sender() -> str:
    """A new REST conversation id the test servers accept, as one they issued."""
    return conversation_ids.issue(conversation_ids.REST, conversation_id_secret())
