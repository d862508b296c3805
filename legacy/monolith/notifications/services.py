import logging
import uuid
from datetime import datetime

import requests
from django.conf import settings

from identity.models import Profile, User
from notifications import providers
from notifications.models import NotificationLog, NotificationTemplate, UserPreference

logger = logging.getLogger("notifications.services")


def render_template(text, context):
    if text is None:
        return None
    for key, value in context.items():
        text = text.replace("{" + key + "}", str(value))
    return text


def _deliver(channel, user, subject, body):
    if channel == "email":
        providers.send_email(user.email, subject, body)
        return
    profile = Profile.objects.filter(user_id=user.id).first()
    if channel == "sms":
        providers.send_sms(profile.phone if profile else None, body)
    else:
        providers.send_push(profile.push_token if profile else None, subject, body)


def _service_headers(idempotency_key=None):
    headers = {"Authorization": f"Bearer {settings.NOTIFICATION_SERVICE_API_KEY}"}
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    return headers


class NotificationService:
    @staticmethod
    def send_notification(user_id, template_name, context, idempotency_key=None):
        if settings.NOTIFICATIONS_BACKEND == "service":
            return NotificationService._send_via_service(user_id, template_name, context, idempotency_key)

        template = NotificationTemplate.objects.get(name=template_name)
        user = User.objects.get(id=user_id)
        channel = template.type or "email"

        preference = UserPreference.objects.filter(user_id=user_id).first()
        if preference is not None and getattr(preference, f"{channel}_enabled") is False:
            return None

        subject = render_template(template.subject, context)
        body = render_template(template.body, context)
        log = NotificationLog(user_id=user_id, template=template, type=channel, metadata=context)
        try:
            _deliver(channel, user, subject, body)
        except Exception as exc:
            logger.warning("notification %s to user %s failed: %s", template_name, user_id, exc)
            log.status = "failed"
            log.error_message = str(exc)
        else:
            log.status = "sent"
            log.sent_at = datetime.now()
        log.save()
        return log

    @staticmethod
    def _send_via_service(user_id, template_name, context, idempotency_key):
        response = requests.post(
            f"{settings.NOTIFICATION_SERVICE_URL.rstrip('/')}/api/v1/notifications/send",
            json={
                "user_id": user_id,
                "template_name": template_name,
                "variables": {key: str(value) for key, value in context.items()},
                # What the legacy log kept as metadata, so the service's notification carries it too.
                "metadata": {key: str(value) for key, value in context.items()},
            },
            headers=_service_headers(idempotency_key or str(uuid.uuid4())),
            timeout=10,
        )
        if response.status_code >= 400:
            # The service answers problem details: keep its explanation in the error.
            raise requests.HTTPError(f"{response.status_code} from the notification service: {response.text}", response=response)
        return response.json()

    @staticmethod
    def history(user_id, limit=50):
        if settings.NOTIFICATIONS_READS == "service":
            response = requests.get(
                f"{settings.NOTIFICATION_SERVICE_URL.rstrip('/')}/api/v1/notifications/user/{user_id}",
                params={"limit": limit},
                headers=_service_headers(),
                timeout=10,
            )
            response.raise_for_status()
            return response.json()["data"]

        logs = NotificationLog.objects.filter(user_id=user_id).select_related("template").order_by("-id")[:limit]
        return [
            {
                "id": log.id,
                "user_id": log.user_id,
                "template_id": log.template_id,
                "template_name": log.template.name if log.template else None,
                "type": log.type,
                "status": log.status,
                "sent_at": log.sent_at.isoformat() if log.sent_at else None,
                "error_message": log.error_message,
                "metadata": log.metadata,
            }
            for log in logs
        ]
