"""URL permission rows for brand kits and the built-in presets (see tests/test_url_permissions.py).
`r` is the rows fixture: image, staged, token, budget, board, kit, batch."""

from __future__ import annotations

from tests.permissions import Try

ROWS: dict[str, list[Try]] = {}
