"""The messages panel of the participants page: the form to write to the task's
participants, the latest messages sent and the number of questions asked. A tag of its own,
so that the participants page needs one include line and no change to its view."""

from __future__ import annotations

from django import template

from ..views.conversations import panel_context

register = template.Library()


@register.inclusion_tag("matching/includes/conversations_panel.html", takes_context=True)
def task_messages_panel(context, task):
    return panel_context(context["request"], task)
