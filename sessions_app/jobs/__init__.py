"""Background jobs (SPEC §6): ensure rooms, reminders, auto-end and cleanup.

One module per job. Each offers a *unit* that does one piece of work and says whether it
found any (tests call it directly, twice), and a ``run`` tick: a thin loop over the unit
with a cap. The django-q2 entry points are in ``sessions_app.tasks``; the schedules that
call them are in ``schedules``. Every unit is safe on two workers at once: it claims its
work with a conditional UPDATE or a row under a unique constraint, and only then acts.
"""
