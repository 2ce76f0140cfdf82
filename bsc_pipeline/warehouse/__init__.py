"""The published warehouse: schema, migrations, publishing a month, period close, views, export."""
