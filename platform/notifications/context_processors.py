from . import selectors


def unread(request):
    """The unread count for the header, read only when a template uses it."""
    user = getattr(request, "user", None)
    return {"unread_notifications": lambda: selectors.unread_count(user=user)}
