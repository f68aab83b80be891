"""Decisions and line state to an MQTT broker (`[mqtt]`): the topic layout in `topics.py`, the
publisher that reads the reject stream in `publisher.py`."""
