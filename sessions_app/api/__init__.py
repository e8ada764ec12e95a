"""The REST API of SPEC §9: serializers, views, permissions, filters and error answers."""
