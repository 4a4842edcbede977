"""Alembic environment: runs migrations on the connection Cairn hands over."""

from alembic import context

from cairn.store.sql.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Cairn migrations run through `cairn db upgrade`, which supplies the connection")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
