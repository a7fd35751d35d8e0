"""Storage adapters of the Rasa server beyond what Rasa ships."""
