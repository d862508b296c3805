"""Fake delivery providers: they "send" by logging, and refuse an obviously invalid address."""
import logging

logger = logging.getLogger("notifications.providers")


class ProviderError(Exception):
    pass


def send_email(to, subject, body):
    if not to or "@" not in to:
        raise ProviderError(f"invalid email address: {to!r}")
    logger.info("email to=%s subject=%r body=%r", to, subject, body)


def send_sms(to, body):
    if not to or not to.lstrip("+").isdigit():
        raise ProviderError(f"invalid phone number: {to!r}")
    logger.info("sms to=%s body=%r", to, body)


def send_push(token, title, body):
    if not token:
        raise ProviderError("no push token")
    logger.info("push token=%s title=%r body=%r", token, title, body)
