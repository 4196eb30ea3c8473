"""A corpus's profile: which dataset rows it is built from and how a row becomes text.

Stored with the corpus definition. ``id_column`` names each row's id (the vector's id, and
what the SQL pre-filter selects), ``text_template`` joins the text columns into the text
that is embedded (``{column}`` placeholders, ``str.format`` syntax), and
``metadata_columns`` are kept with each vector for filters and answers. ``dataset`` is
the catalog dataset the corpus was built from (None until a bulk job or a caller says).
The default is the staffing profile of the generated worker roster.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from lakehouse.errors import InvalidInput

COLUMN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
MAX_TEMPLATE_CHARS = 2000
MAX_METADATA_COLUMNS = 64
STAFFING_TEMPLATE = "{role}. Skills: {skills}. Certifications: {certifications}. {resume}"
STAFFING_METADATA = ("role", "city", "state", "shift", "available", "years_experience", "rating")


@dataclass(frozen=True)
class CorpusProfile:
    """How rows of a dataset become a corpus's ids, texts and metadata."""

    id_column: str = "worker_id"
    text_template: str = STAFFING_TEMPLATE
    metadata_columns: tuple[str, ...] = STAFFING_METADATA
    dataset: str | None = None

    @property
    def text_columns(self) -> tuple[str, ...]:
        """The columns the template reads, in order of first use."""
        try:
            names = [f for _, f, _, _ in string.Formatter().parse(self.text_template) if f]
        except ValueError as exc:
            raise InvalidInput(f"text_template is malformed: {exc}", field="profile") from exc
        return tuple(dict.fromkeys(names))

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column a bulk job reads: id, text and metadata."""
        return tuple(dict.fromkeys((self.id_column, *self.text_columns, *self.metadata_columns)))

    def check(self) -> CorpusProfile:
        """Refuse an unusable profile (before anything is created)."""
        if len(self.text_template) > MAX_TEMPLATE_CHARS:
            raise InvalidInput(f"text_template is over {MAX_TEMPLATE_CHARS} characters")
        if not self.text_columns:
            raise InvalidInput("text_template names no column: nothing to embed", field="profile")
        if len(self.metadata_columns) > MAX_METADATA_COLUMNS:
            raise InvalidInput(f"at most {MAX_METADATA_COLUMNS} metadata columns")
        bad = [c for c in self.columns if not COLUMN.match(c)]
        if bad:
            raise InvalidInput(f"not column names: {', '.join(map(repr, bad))}", field="profile")
        return self

    def check_columns(self, present: Iterable[str], dataset: str) -> None:
        """Refuse a profile naming a column ``dataset`` lacks."""
        have = set(present)
        missing = [c for c in self.columns if c not in have]
        if missing:
            raise InvalidInput(
                f"dataset {dataset!r} has no column {', '.join(map(repr, missing))} "
                f"(its columns: {', '.join(sorted(have))})",
                field="profile",
            )

    def row_text(self, row: Mapping[str, Any]) -> str:
        """The text a row is embedded as (a missing or null column reads as empty)."""
        return self.text_template.format_map(_Blank(row))

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["metadata_columns"] = list(self.metadata_columns)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> CorpusProfile:
        if data is None:
            return cls()
        values = dict(data)
        if "metadata_columns" in values:
            values["metadata_columns"] = tuple(values["metadata_columns"])
        try:
            return cls(**values).check()
        except TypeError as exc:
            raise InvalidInput(f"not a corpus profile: {exc}", field="profile") from exc


STAFFING = CorpusProfile()


class _Blank(dict):
    def __init__(self, row: Mapping[str, Any]) -> None:
        super().__init__()
        self.row = row

    def __missing__(self, key: str) -> str:
        value = self.row.get(key)
        return "" if value is None else str(value)
