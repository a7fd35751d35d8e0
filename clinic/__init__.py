"""The clinic's pure domain logic, imported by both servers; it imports neither Rasa nor rasa_sdk."""
