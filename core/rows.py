"""Writing many rows' fields at once, where Django's own ways cost more than the writes.

``rows_update`` is ``Model.objects.filter(pk=row.pk).update(...)`` for many rows sent as
one ``executemany``: the statement is built once and the driver sends the rows together
(SQLite loops in C; psycopg 3 pipelines them). Django's ``bulk_update`` instead compiles
one CASE expression per field and row, which for a few hundred rows costs more than the
writes themselves, and one ``update()`` per row compiles a statement per row. Values are
converted exactly as ``update()`` converts them (``Field.get_db_prep_save``); like
``update()``, it neither sends signals nor touches ``auto_now`` fields.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import cast

from django.db import connections, models, router


def rows_update(rows: Sequence[models.Model], fields: Sequence[str]) -> None:
    """Write ``fields`` of each row (all of one model) to the row with its primary key."""
    if not rows:
        return
    model = type(rows[0])
    meta = model._meta
    connection = connections[router.db_for_write(model)]
    # Concrete fields only (no reverse relations): each has a column.
    targets = [cast(models.Field, meta.get_field(name)) for name in fields]
    pk = meta.pk
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(str(field.column))} = %s" for field in targets)
    # Only the model's own table and column names, quoted, go into the text; values are
    # parameters.
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(str(pk.column))} = %s"  # noqa: S608
    params = [
        [field.get_db_prep_save(getattr(row, field.attname), connection) for field in targets]
        + [pk.get_db_prep_value(row.pk, connection)]
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
