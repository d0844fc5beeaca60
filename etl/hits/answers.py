"""Which slots a worker ticked, from whatever form the answer arrives in.

The web site joins repeated `selected` values with "|" ("image2|image7"); the API returns
QuestionFormAnswers XML where `selected` may be one "|"-joined value or repeated; Crowd HTML
checkboxes come back per slot (`image3` or `image3.on` = true). "none_of_the_above" (or nothing
ticked) is an empty answer: a vote of "no" on every image of the HIT.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from xml.etree import ElementTree

NONE_OF_THE_ABOVE = "none_of_the_above"
SELECTED = "selected"
SLOT = re.compile(r"^image(\d+)$")
PER_SLOT = re.compile(r"^image(\d+)(?:\.on)?$")
TRUTHY = {"true", "on", "1", "yes", "y"}
QFA_NS = "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2005-10-01/QuestionFormAnswers.xsd"


class AnswerError(ValueError):
    """An answer naming something that is not a slot of the design."""


def answer_fields(xml: str) -> list[tuple[str, str]]:
    """(QuestionIdentifier, FreeText) pairs of a QuestionFormAnswers document, in order."""
    root = ElementTree.fromstring(xml)
    pairs = []
    for answer in root.iter():
        if answer.tag.rsplit("}", 1)[-1] != "Answer":
            continue
        fields = {child.tag.rsplit("}", 1)[-1]: (child.text or "") for child in answer}
        pairs.append((fields.get("QuestionIdentifier", ""), fields.get("FreeText", "")))
    return pairs


def selected_slots(fields: Iterable[tuple[str, str]] | Mapping[str, str]) -> list[int]:
    """Sorted slot numbers ticked, from (name, value) pairs in any of the accepted forms."""
    pairs = fields.items() if isinstance(fields, Mapping) else fields
    slots: set[int] = set()
    for name, value in pairs:
        if name == SELECTED:
            for token in (t.strip() for t in (value or "").split("|")):
                if not token or token == NONE_OF_THE_ABOVE:
                    continue
                match = SLOT.match(token)
                if not match:
                    raise AnswerError(f"'{token}' in selected is not a slot name (image1, image2, ...)")
                slots.add(int(match.group(1)))
        elif (match := PER_SLOT.match(name)) and (value or "").strip().lower() in TRUTHY:
            slots.add(int(match.group(1)))
    return sorted(slots)


def parse_answer_xml(xml: str) -> list[int]:
    """Slots ticked in an MTurk API answer (QuestionFormAnswers XML)."""
    return selected_slots(answer_fields(xml))


def selected_text(slots: Iterable[int]) -> str:
    """The web site's Answer.selected for these slots: 'image2|image7', '' when none."""
    return "|".join(f"image{n}" for n in sorted(slots))


def answer_xml(fields: Iterable[tuple[str, str]]) -> str:
    """A QuestionFormAnswers document, as MTurk returns what an HTML form posted."""
    root = ElementTree.Element("QuestionFormAnswers", xmlns=QFA_NS)
    for name, value in fields:
        answer = ElementTree.SubElement(root, "Answer")
        ElementTree.SubElement(answer, "QuestionIdentifier").text = name
        ElementTree.SubElement(answer, "FreeText").text = value
    return '<?xml version="1.0" encoding="ASCII"?>' + ElementTree.tostring(root, encoding="unicode")
