"""``{% form_token %}``: the hidden field that makes a form's second submission harmless.

Put it beside ``{% csrf_token %}`` in a form that creates something. Each rendering gets a
new token; the middleware (``idempotency.middleware``) answers a second submission of the
same token with the first submission's redirect instead of doing the change again."""

from __future__ import annotations

import uuid

from django import template
from django.utils.html import format_html

from idempotency.services import FORM_FIELD

register = template.Library()


@register.simple_tag
def form_token() -> str:
    return format_html('<input type="hidden" name="{}" value="{}">', FORM_FIELD, uuid.uuid4())
