"""The clinic's side of the conversation: staff alerts, their delivery, the staff inbox."""
