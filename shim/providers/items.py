"""One walk over Responses input items and their content parts, for providers that translate them.

The walker owns what every translating provider treats alike: which items are skipped, how a
tool call's name is registered, which kind is refused. Content parts come out neutral (text,
image, PDF), with the same note wherever the route cannot take what Codex sent.
"""

from __future__ import annotations

import base64
import re
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ..config import ModelRoute
from ..errors import RequestError
from ..model_profile import ModelProfile
from ..tool_names import ToolNames
from .base import input_items

# Items no translating provider can replay: results of hosted tools Codex ran on OpenAI's side.
DROPPED_ITEMS = frozenset(
    {"web_search_call", "image_generation_call", "file_search_call", "compaction", "compaction_summary"}
)
TOOL_OUTPUTS = frozenset({"function_call_output", "custom_tool_call_output"})
TEXT_PARTS = frozenset({"input_text", "output_text", "text", "summary_text", "refusal"})
IMAGE_OMITTED = "[image omitted: this model does not accept images]"

_DATA_URL = re.compile(r"^data:([^;,]+)?(?:;[^,]*)?;base64,(.*)$", re.DOTALL)


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A function or custom tool call from the history, under the name the provider was given."""

    call_id: Any  # as Codex sent it
    name: str
    custom: bool
    payload: Any  # a function call's `arguments`, a custom call's `input`, as Codex sent them


def unresolvable_reference(index: int, item: dict[str, Any]) -> RequestError:
    """An item_reference names an item the caller expects to be stored: nothing is, here."""
    return RequestError(f"input[{index}] is an item_reference ({item.get('id')!r}): BYOK models keep no items, so it cannot be "
                        "resolved; send the item itself (a client that assumes storage: turn `store` off)")


class InputWalker(ABC):
    """Walks the input items in order, handing each kind to the provider's handler."""

    provider = ""  # names the route in a refusal

    def __init__(self, route: ModelRoute, names: ToolNames, profile: ModelProfile) -> None:
        self.route = route
        self.names = names
        self.profile = profile

    @property
    def images(self) -> bool:
        """Does the model take images? Unless its profile says no, it is asked to."""
        return self.profile.image_input is not False

    def walk(self, body: dict[str, Any]) -> None:
        for index, item in enumerate(input_items(body)):
            kind = item.get("type", "message" if "role" in item else None)
            self.before_item(kind)
            if kind == "message":
                self.message(item)
            elif kind == "reasoning":
                self.reasoning(item)
            elif kind in ("function_call", "custom_tool_call"):
                custom = kind == "custom_tool_call"
                name = self.names.register(item.get("name", ""), item.get("namespace"), kind="custom" if custom else "function")
                payload = item.get("input", "") if custom else item.get("arguments")
                self.tool_call(ToolCall(item.get("call_id", ""), name, custom, payload))
            elif kind in TOOL_OUTPUTS:
                self.tool_output(item)
            elif kind == "item_reference":
                raise unresolvable_reference(index, item)
            elif kind not in DROPPED_ITEMS:
                raise RequestError(f"input[{index}] has an item type the {self.provider} route cannot translate: {kind!r}")

    def before_item(self, kind: Any) -> None:  # noqa: B027 - an optional hook, not a handler
        """Runs before every item, skipped ones too (a provider may close what the last item opened)."""

    @abstractmethod
    def message(self, item: dict[str, Any]) -> None: ...

    @abstractmethod
    def reasoning(self, item: dict[str, Any]) -> None: ...

    @abstractmethod
    def tool_call(self, call: ToolCall) -> None: ...

    @abstractmethod
    def tool_output(self, item: dict[str, Any]) -> None: ...


# -- content parts ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Text:
    text: str


@dataclass(frozen=True, slots=True)
class Image:
    url: str
    detail: str | None = None  # "low" or "high" when Codex asked for one


@dataclass(frozen=True, slots=True)
class Pdf:
    data: str  # base64
    filename: str = "document.pdf"


Part = Text | Image | Pdf


def content_parts(content: Any, images: bool, *, media: bool = True, pdfs: bool = False) -> Iterator[Part]:
    """A message's content (a string or a list of parts) as neutral parts, in order.

    `media=False` keeps the text only; otherwise images the route cannot take and files (all of
    them, or all but inline PDFs with `pdfs`) become notes saying they were left out."""
    if isinstance(content, str):
        yield Text(content)
        return
    for part in content or []:
        if not isinstance(part, dict):
            continue
        ptype = part.get("type")
        if ptype in TEXT_PARTS:
            yield Text(part.get("text") or part.get("refusal") or "")
        elif ptype == "input_image" and media:
            yield image_part(part, images)
        elif ptype == "input_file" and media:
            yield _file_part(part, pdfs)


def image_part(part: dict[str, Any], images: bool) -> Image | Text:
    """An input_image part, or the note for a model that does not take images."""
    url = part.get("image_url") or part.get("url")
    if not images or not isinstance(url, str) or not url:
        return Text(IMAGE_OMITTED)
    detail = part.get("detail")
    return Image(url, detail if detail in ("low", "high") else None)


def _file_part(part: dict[str, Any], pdfs: bool) -> Pdf | Text:
    """An input_file: a PDF where the route reads them, a text file as its text, else a note."""
    name = str(part.get("filename") or "")
    found = data_url(part.get("file_data") or "")
    if found and found[0] == "application/pdf" and pdfs:
        return Pdf(found[1], name or "document.pdf")
    if found and _is_text(found[0]):
        try:
            return Text(f"[file {name}]\n" + base64.b64decode(found[1], validate=True).decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            pass
    why = "this model does not read PDFs" if found and found[0] == "application/pdf" else "not supported by this route"
    return Text(f"[file {name} omitted: {why}]")


def _is_text(media_type: str | None) -> bool:
    return bool(media_type) and (str(media_type).startswith("text/") or media_type in _TEXT_TYPES)


_TEXT_TYPES = frozenset({"application/json", "application/xml", "application/x-yaml", "application/yaml", "application/javascript"})


def data_url(url: str) -> tuple[str | None, str] | None:
    """(media type, base64 data) of a base64 data: URL; None for any other URL."""
    found = _DATA_URL.match(url)
    return (found.group(1), found.group(2)) if found else None
