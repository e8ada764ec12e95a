"""Django's PostgreSQL backend: timestamps read by psycopg's compiled loader, integers
sent as text (``base``)."""
