"""Custom components of the Rasa NLU pipeline (run inside the Rasa server, not the action server)."""
