"""Alembic environment: runs the revisions on the connection that
`gaikan.service.storage.migrate` hands over (there is no alembic.ini and no offline mode)."""

from alembic import context

from gaikan.service.storage.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through gaikan.service.storage.migrate (or `gaikan db upgrade`)")
# Batch mode: SQLite can only alter a table by copying it.
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
