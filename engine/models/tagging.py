"""``tagging.yaml``: keywords and patterns in customers' messages that add tags.

```yaml
rules:
  - tag: 近视                        # the tag to add (tag_added journeys start from it)
    id: myopia                       # optional; names the rule in the tag's source
    keywords: [近视, 看不清黑板, OK镜]   # literal text
    patterns: ["度数.{0,4}(涨|加深)"]   # Python regular expressions
    exclude: [不近视]                  # a match inside one of these does not count
    sources: [wechat, wecom, call]   # which messages are read (default: all three)
```

A keyword matches as a literal substring (Chinese has no spaces between words), after
both texts are NFKC-normalised (full-width ＯＫ is OK) and ignoring the case of Latin
letters. "Whole word" applies at a Latin letter or digit: a keyword that begins or ends
with one does not match next to another letter or digit, so ``OK镜`` is not found in
``BOOK镜`` and ``TD`` not in ``STD``. Patterns are searched as written (add ``(?i)`` to
ignore case) and must compile.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, Self

from pydantic import AfterValidator, Field, model_validator

from engine.models.common import Strict

ChatSource = Literal["wechat", "wecom", "call"]
CHAT_SOURCES: tuple[ChatSource, ...] = ("wechat", "wecom", "call")


def _compiles(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(
            f"pattern {pattern!r} is not a valid regular expression ({exc}); write it as a "
            "Python regular expression, e.g. escape ( ) [ ] . + ? * with a backslash to "
            "match them as text"
        ) from None
    if re.compile(pattern).search("") is not None:
        raise ValueError(
            f"pattern {pattern!r} matches empty text, so it would tag every message; "
            "write it so that it needs at least one character (e.g. + instead of *)"
        )
    return pattern


_Text = Annotated[str, Field(min_length=1, max_length=200)]
_Pattern = Annotated[str, Field(min_length=1, max_length=500), AfterValidator(_compiles)]


class TaggingRule(Strict):
    """One tag and the words that add it."""

    tag: Annotated[str, Field(min_length=1, max_length=255)] = Field(
        description="the tag a matching message adds (it may start tag_added journeys)"
    )
    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9_\-]+$", max_length=64)] | None = Field(
        None, description="names the rule in the tag's source auto:keyword:<id> (default: the tag)"
    )
    keywords: list[_Text] = Field(
        default_factory=list,
        description="literal text; a Latin letter or digit at its edge must not touch another",
    )
    patterns: list[_Pattern] = Field(
        default_factory=list, description="Python regular expressions, searched in the text"
    )
    exclude: list[_Text] = Field(
        default_factory=list,
        description="phrases that cancel a match inside them, e.g. 不近视 for the keyword 近视",
    )
    sources: list[ChatSource] = Field(
        default_factory=lambda: list(CHAT_SOURCES),
        min_length=1,
        description="messages read: wechat (Official Account), wecom (chat records), call",
    )

    @model_validator(mode="after")
    def _something_to_match(self) -> Self:
        if not self.keywords and not self.patterns:
            raise ValueError(
                f"the rule for tag {self.tag!r} has nothing to match: add keywords: [...] "
                "or patterns: [...]"
            )
        return self

    @property
    def name(self) -> str:
        """The rule's id, or its tag when it has none."""
        return self.id or self.tag


class TaggingFile(Strict):
    """A workspace's ``tagging.yaml``."""

    rules: list[TaggingRule] = Field(
        default_factory=list, description="keyword rules, each adding one tag"
    )
