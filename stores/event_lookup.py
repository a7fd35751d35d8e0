"""Rasa's lookup of an event class by its type name, answered from a table.

`Event.resolve_by_type` walks every subclass of `Event` (about 40 classes, through
`inspect.isabstract`) for each event it reads: 5% of the Rasa server's CPU per message in
our profile, because every message reads the session's events back from the tracker store.
The table is built on first use, when Rasa's event classes are all imported, with the class
Rasa's own walk finds first for each name; a name not in it (a new subclass, the old
"topic", an unknown name) goes to Rasa's walk, so the answers and errors stay Rasa's.
"""

from functools import lru_cache
from typing import Any, Dict, Optional, Text, Type

import rasa.shared.utils.common
from rasa.shared.core.events import Event

_rasa_resolve = Event.resolve_by_type


@lru_cache(maxsize=1)
def event_classes() -> Dict[Text, Type[Event]]:
    table: Dict[Text, Type[Event]] = {}
    for cls in rasa.shared.utils.common.all_subclasses(Event):
        table.setdefault(cls.type_name, cls)
    return table


def resolve_by_type(type_name: Text, default: Optional[Type[Event]] = None) -> Any:
    found = event_classes().get(type_name)
    return found if found is not None else _rasa_resolve(type_name, default)


def install() -> None:
    Event.resolve_by_type = staticmethod(resolve_by_type)  # type: ignore[assignment]
