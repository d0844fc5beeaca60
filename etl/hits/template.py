"""Render the HIT design (templates/hit/images.html.j2) for the web site or for the API.

One template, so the two paths cannot drift: `layout_html` gives the requester site's layout with
`${image1}` placeholders; `question_xml` gives an API HTMLQuestion for one HIT's images. MTurk
refuses a Question over 64 KB, so that is checked here rather than discovered at CreateHIT.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from html.parser import HTMLParser

import jinja2
import polars as pl

from etl.errors import CrowdauditError
from etl.paths import TEMPLATES_DIR

TEMPLATE = "hit/images.html.j2"
MAX_QUESTION_BYTES = 65535
HTML_QUESTION_NS = "http://mechanicalturk.amazonaws.com/AWSMechanicalTurkDataSchemas/2011-11-11/HTMLQuestion.xsd"
DEFAULT_TITLE = "Which of these images show a wedding?"
DEFAULT_DESCRIPTION = ("Tick every image that depicts a wedding. We are interested in both Indian weddings "
                       "and Western-style weddings.")
DEFAULT_KEYWORDS = "image, classification, wedding"
# Pixels of the iframe the worker sees; 0 would let MTurk pick, which cuts a 12-image grid short.
FRAME_HEIGHT = 1400


@cache
def _environment() -> jinja2.Environment:
    """One environment per process: it keeps the template compiled. A new one per HIT compiled the
    template again for each (8 ms a HIT: 80 s of 10,000 HITs' publish, before the first was created)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR), autoescape=True, undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def slot_name(slot: int) -> str:
    return f"image{slot}"


def layout_html(per_hit: int, *, title: str = DEFAULT_TITLE) -> str:
    """The web site's layout: `${imageN}` placeholders the site fills from variables.csv."""
    slots = [{"name": slot_name(n), "src": f"${{{slot_name(n)}}}"} for n in range(1, per_hit + 1)]
    return _environment().get_template(TEMPLATE).render(mode="layout", slots=slots, title=title)


def question_html(image_urls: Sequence[str], *, submit_url: str, title: str = DEFAULT_TITLE) -> str:
    """The whole worker page for one HIT: image_urls[i] sits in slot image<i+1>."""
    slots = [{"name": slot_name(n), "src": url} for n, url in enumerate(image_urls, start=1)]
    return _environment().get_template(TEMPLATE).render(
        mode="question", slots=slots, title=title, submit_url=submit_url
    )


def _question_document(image_urls: Sequence[str], *, submit_url: str, title: str) -> str:
    html = question_html(image_urls, submit_url=submit_url, title=title)
    if "]]>" in html:
        raise CrowdauditError("an image URL contains ']]>', which cannot sit inside the HTMLQuestion's CDATA")
    return (
        f'<HTMLQuestion xmlns="{HTML_QUESTION_NS}">\n<HTMLContent><![CDATA[\n{html}]]></HTMLContent>\n'
        f"<FrameHeight>{FRAME_HEIGHT}</FrameHeight>\n</HTMLQuestion>\n"
    )


def question_xml(image_urls: Sequence[str], *, submit_url: str, title: str = DEFAULT_TITLE) -> str:
    """An HTMLQuestion for CreateHIT; refuses one MTurk would refuse for size."""
    xml = _question_document(image_urls, submit_url=submit_url, title=title)
    size = len(xml.encode("utf-8"))
    if size > MAX_QUESTION_BYTES:
        raise CrowdauditError(
            f"the HIT's HTMLQuestion is {size} bytes; MTurk accepts at most {MAX_QUESTION_BYTES}. "
            "Use fewer images per HIT or shorter image URLs."
        )
    return xml


def escaped_bytes(url: pl.Expr) -> pl.Expr:
    """UTF-8 bytes of `url` as the template's autoescape writes it into src="..." (markupsafe:
    & is &amp;, < &lt;, > &gt;, " &#34;, ' &#39;)."""
    def count(char: str) -> pl.Expr:
        return url.str.count_matches(char, literal=True)

    return url.str.len_bytes() + 4 * count("&") + 3 * (count("<") + count(">")) + 4 * (count('"') + count("'"))


def question_sizes(items: pl.DataFrame, *, key: str, submit_url: str, title: str = DEFAULT_TITLE) -> pl.DataFrame:
    """(key, question_bytes): the size of each HIT's HTMLQuestion (rows of `items`: key, image_id
    for each slot), as `question_xml` would render it, without rendering every HIT: the question
    with empty URLs for its number of slots, plus each URL as escaped."""
    per_hit = items.group_by(key).agg(pl.len().alias("n_slots"), escaped_bytes(pl.col("image_id")).sum().alias("urls"))
    n_slots = per_hit["n_slots"].unique().sort().to_list()
    empty = pl.DataFrame({
        "n_slots": n_slots,
        "empty": [len(_question_document([""] * n, submit_url=submit_url, title=title).encode("utf-8"))
                  for n in n_slots],
    }, schema={"n_slots": per_hit.schema["n_slots"], "empty": pl.Int64})
    return per_hit.join(empty, on="n_slots").select(key, (pl.col("empty") + pl.col("urls")).alias("question_bytes"))


class _SlotImages(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.slots: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "img" and values.get("data-slot") and values.get("src") is not None:
            self.slots[values["data-slot"]] = values["src"]


def slot_images(question: str) -> dict[str, str]:
    """{slot name: image URL} as a worker's browser sees them, from a question's XML or HTML."""
    html = question
    if "<![CDATA[" in question:
        html = question.split("<![CDATA[", 1)[1].rsplit("]]>", 1)[0]
    parser = _SlotImages()
    parser.feed(html)
    return parser.slots
