"""The message templates the Graph stand-in's business has approved, and what Meta answers a
template send that does not match one (Cloud API, "Send message templates"; error codes)."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

from responder.testing.whatsapp_records import JSON, GraphError, invalid_parameter, known_error

# Meta refuses a text variable with a line break, a tab or more than four spaces in a row.
_BAD_TEXT = re.compile(r"[\n\t]| {5,}")
MAX_BUTTONS = 10


@dataclass(frozen=True)
class Approved:
    """One approved translation of a template: its name, language and what it expects."""

    name: str
    language: str
    body: int = 0  # variables in its body ({{1}}, {{2}}...)
    quick_replies: int = 0  # its quick-reply buttons


class TemplateBook:
    """Approved templates by (name, language code); a send is checked against its entry."""

    def __init__(self) -> None:
        self._approved: dict[tuple[str, str], Approved] = {}
        self._lock = threading.Lock()

    def approve(self, name: str, language: str, *, body: int = 0, quick_replies: int = 0) -> None:
        with self._lock:
            self._approved[name, language] = Approved(name, language, body, quick_replies)

    def check(self, template: JSON) -> None:
        """Raise Graph's error for a send Meta refuses: an unknown template or translation
        (132001), the wrong number of body variables (132000), a bad button or parameter."""
        name, code = template["name"], template["language"]["code"]
        with self._lock:
            known = self._approved.get((name, code))
        if known is None:
            error = known_error(132001)
            error.details = f"template name ({name}) does not exist in {code}"
            raise error
        components = template.get("components", [])
        if not isinstance(components, list) or not all(isinstance(c, dict) for c in components):
            raise invalid_parameter("Param template['components'] must be an array of objects.")
        body = [p for c in components if c.get("type") == "body" for p in _params(c)]
        for parameter in body:
            _check_text(parameter)
        if len(body) != known.body:
            error = known_error(132000)
            error.details = (
                f"body: number of localizable_params ({len(body)}) does not match the "
                f"expected number of params ({known.body})"
            )
            raise error
        seen: set[int] = set()
        for component in components:
            if component.get("type") == "button":
                seen.add(_check_button(component, known, seen))
            elif component.get("type") not in ("header", "body"):
                raise invalid_parameter("Param template['components'][]['type'] is not valid.")


def _params(component: JSON) -> list[Any]:
    found = component.get("parameters", [])
    if not isinstance(found, list):
        raise invalid_parameter("Param template['components'][]['parameters'] must be an array.")
    return found


def _check_text(parameter: Any) -> None:
    if not isinstance(parameter, dict) or parameter.get("type") != "text":
        raise invalid_parameter("Param template['components'][]['parameters'][]['type'].")
    text = parameter.get("text")
    if not isinstance(text, str) or not text:
        raise invalid_parameter("The parameter text is required.", 131008)
    if _BAD_TEXT.search(text):
        raise GraphError(
            400,
            132018,
            "(#132018) There was an issue with the parameters in your template.",
            details="Param text cannot have new-line/tab characters or more than 4 "
            "consecutive spaces",
        )


def _check_button(component: JSON, known: Approved, seen: set[int]) -> int:
    if component.get("sub_type") != "quick_reply":
        raise invalid_parameter("Param template['components'][]['sub_type'] is not valid.")
    index = component.get("index")
    # Meta's examples give the position as text ("0"); a number is taken too.
    if isinstance(index, str) and index.isascii() and index.isdigit():
        index = int(index)
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < MAX_BUTTONS:
        raise invalid_parameter("Param template['components'][]['index'] must be 0-9.")
    if index >= known.quick_replies or index in seen:
        raise invalid_parameter(
            f"Button at index {index} is not a quick-reply button of template {known.name}.",
            131009,
        )
    parameters = _params(component)
    if len(parameters) != 1 or not isinstance(parameters[0], dict):
        raise invalid_parameter("A quick-reply button takes exactly one payload parameter.")
    payload = parameters[0]
    if payload.get("type") != "payload" or not isinstance(payload.get("payload"), str):
        raise invalid_parameter("The parameter payload is required.", 131008)
    if not payload["payload"]:
        raise invalid_parameter("The parameter payload is required.", 131008)
    return index
