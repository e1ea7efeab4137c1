"""Text people type: names, references, reasons and notes. Control characters are refused at the door, because
they break XML extracts (XML 1.0 cannot carry them) and PostgreSQL text (NUL), and nobody types them."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

LINE_PATTERN = r"^[^\x00-\x1f\x7f]*$"
TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"

# One line: no control characters at all (names, ids, references, reasons). Give every field its max_length:
# tests/api/test_bounds.py fails on a request string without one.
Line = Annotated[str, StringConstraints(pattern=LINE_PATTERN)]
# Free text (notes): line breaks and tabs allowed, no other control character.
Text = Annotated[str, StringConstraints(pattern=TEXT_PATTERN)]
