"""URL permission rows for list batches and the batch page (see tests/test_url_permissions.py).
`r` is the rows fixture: image, staged, token, budget, board, kit, batch."""

from __future__ import annotations

from tests.permissions import Try

ROWS: dict[str, list[Try]] = {}
