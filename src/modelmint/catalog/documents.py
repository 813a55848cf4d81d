"""What every dataset split on disk holds: a Parquet file of these columns. Apart from the
catalog, which needs pyarrow only when it reads a split."""

from __future__ import annotations

import pyarrow as pa

# ``labels`` is a JSON object of strings (intent, sentiment, ...); ``messages`` is set for
# chat documents, whose ``text`` is the turns' contents joined by newlines.
DOCUMENT_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("text", pa.string()),
        ("messages", pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))),
        ("labels", pa.string()),
        ("lang", pa.string()),
        ("source", pa.string()),
    ]
)
