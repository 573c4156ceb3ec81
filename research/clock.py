"""The poller's one clock. Everything that schedules a status call takes `now` from here.

In production it is Django's `timezone.now`. The bench (`bench/poller.py`) swaps in a simulated
clock shared with the sandbox gateway, so hours of job time run in minutes without sleeping.
"""

import contextlib

from django.utils import timezone

_source = timezone.now


def now():
    return _source()


@contextlib.contextmanager
def use(source):
    """Take the time from `source()` (an aware datetime) until the block ends."""
    global _source
    previous, _source = _source, source
    try:
        yield
    finally:
        _source = previous
