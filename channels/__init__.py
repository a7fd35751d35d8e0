"""Rasa input channels adapted for the clinic, registered by module path in credentials.yml."""
