"""Filters for a job's progress: its state in words, relative times, timestamps for the browser."""

from django import template

from research import progress

register = template.Library()


@register.filter
def state(job):
    """The key of a job's state ("searching", "paused", ...): its badge's class."""
    return progress.state_of(job)


@register.filter
def state_label(job):
    """A job's state as its badge says it ("Searching", "Paused: budget", ...)."""
    return progress.STATES[progress.state_of(job)][0]


@register.filter
def ago(seconds):
    return progress.ago(seconds)


@register.filter
def until(seconds):
    return progress.until(seconds)


@register.filter
def span(seconds):
    return "" if seconds is None else progress.span(seconds)


@register.filter
def epoch_ms(moment):
    """A datetime as milliseconds since the epoch (data attributes for progress.js); "" for anything else."""
    return progress.epoch_ms(moment) if hasattr(moment, "timestamp") else ""
