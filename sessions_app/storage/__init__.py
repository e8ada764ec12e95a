"""The ZeroDB mirror of sessions, attendance and events (SPEC §7, contracts/zerodb.md).

* ``client``   — one HTTP session to ZeroDB's table API, its answers normalised, named errors;
* ``fieldmap`` — our model fields ↔ the association's document names, both ways;
* ``tracking`` — the model mixin and queryset that queue every write in its transaction;
* ``outbox``   — queueing (the request side) and the queue's bookkeeping;
* ``delivery`` — the worker side: claim a row, upsert or delete it in ZeroDB, back off;
* ``tasks``    — the django-q2 task and its every-minute schedule;
* ``models``   — the outbox entry and the local UUID → ``row_id`` map.

With ``ZERODB_API_KEY`` empty the adapter is off: nothing is queued and nothing is sent.
"""
