from django.conf import settings
from django.db import connections
from django.test.runner import DiscoverRunner


class LegacySchemaTestRunner(DiscoverRunner):
    """The models are unmanaged, so Django creates no tables: run the legacy schema.sql instead."""

    def setup_databases(self, **kwargs):
        old_config = super().setup_databases(**kwargs)
        sql = settings.LEGACY_SCHEMA_SQL.read_text()
        for alias in connections:
            with connections[alias].cursor() as cursor:
                cursor.execute("SELECT to_regclass('auth_user')")
                if cursor.fetchone()[0] is None:  # not there yet (--keepdb reuses the database)
                    cursor.execute(sql)
        return old_config
