"""Fakes of outside services, for end-to-end and fault tests."""
