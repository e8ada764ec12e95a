from datetime import timedelta

from sessions_app import services
from tests.conftest import NOW


def test_an_instructor_creates_a_session(frozen, instructor):
    session = services.create_session(
        instructor,
        {"title": "  Kata  ", "start_time": NOW + timedelta(hours=1), "duration_minutes": 45},
    )
    assert session.title == "Kata"
    assert session.end_time == NOW + timedelta(hours=1, minutes=45)
