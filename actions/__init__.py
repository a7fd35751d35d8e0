"""The action server package (rasa-sdk): the custom actions, thin adapters of clinic/."""
