"""The messages' words, in Bahasa Indonesia and English, rendered with Jinja2.

`templates/<language>/<kind>.txt` holds one kind in one language, in three blocks: `subject`
(also the push title), `short` (push and SMS: one line) and `body` (the email's text,
paragraphs separated by blank lines). The HTML email is one layout, `templates/layout.html`,
that puts the paragraphs in <p> elements with autoescaping on, so an agency's name or a
complaint's title never becomes markup; the text templates have nothing to escape.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from notifications.people.domain import Language, MessageKind

TEMPLATES = Path(__file__).parent / "templates"
FOOTER = {
    Language.id: "Pesan ini dikirim otomatis oleh Aduan. Mohon tidak membalas email ini.",
    Language.en: "This message was sent automatically by Aduan. Please do not reply.",
}

_TEXT = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=False,  # plain text: the email's text part, push, SMS
    undefined=StrictUndefined,  # a missing value is a bug, not an empty gap in a message
)
_HTML = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined)


@dataclass(frozen=True)
class Rendered:
    subject: str
    short: str
    text: str
    html: str


def render(kind: MessageKind, language: Language, context: dict[str, Any]) -> Rendered:
    template = _TEXT.get_template(f"{language.value}/{kind.value}.txt")
    blocks = {
        name: "".join(block(template.new_context(context))).strip()
        for name, block in template.blocks.items()
    }
    body = blocks["body"]
    text = f"{body}\n\n-- \n{FOOTER[language]}\n"
    paragraphs = [p.strip() for p in body.split("\n\n") if p.strip()]
    html = _HTML.get_template("layout.html").render(
        language=language.value,
        subject=blocks["subject"],
        paragraphs=paragraphs,
        footer=FOOTER[language],
    )
    return Rendered(blocks["subject"], blocks["short"], text, html)
