"""The refusal codes of notifications: the preferences and the unsubscribe link
(``core.errors``)."""

from core.errors import ErrorCode


class NotificationsCode(ErrorCode):
    UNKNOWN_TOPIC = "unknown_topic"
    UNKNOWN_CHANNEL = "unknown_channel"
    FREQUENCY_NOT_OFFERED = "frequency_not_offered"
    UNKNOWN_LANGUAGE = "unknown_language"
    UNSUBSCRIBE_LINK_INVALID = "unsubscribe_link_invalid"
