from datetime import datetime

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

CHANNELS = [("email", "email"), ("sms", "sms"), ("push", "push")]


class NotificationTemplate(models.Model):
    name = models.CharField(max_length=100, unique=True)
    subject = models.CharField(max_length=255, null=True, blank=True)
    body = models.TextField()
    type = models.CharField(max_length=20, choices=CHANNELS, null=True, blank=True)
    variables = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=datetime.now, null=True)
    updated_at = models.DateTimeField(default=datetime.now, null=True)

    class Meta:
        managed = False
        db_table = "notifications_notificationtemplate"


class NotificationLog(models.Model):
    STATUSES = [("pending", "pending"), ("sent", "sent"), ("failed", "failed"), ("bounced", "bounced")]

    user_id = models.IntegerField()
    template = models.ForeignKey(NotificationTemplate, null=True, on_delete=models.DO_NOTHING)
    type = models.CharField(max_length=20, choices=CHANNELS, null=True)
    status = models.CharField(max_length=20, choices=STATUSES, null=True)
    sent_at = models.DateTimeField(null=True)
    error_message = models.TextField(null=True)
    # DjangoJSONEncoder: a context may hold Decimals (payment amounts) or datetimes.
    metadata = models.JSONField(null=True, encoder=DjangoJSONEncoder)

    class Meta:
        managed = False
        db_table = "notifications_notificationlog"


class UserPreference(models.Model):
    user_id = models.IntegerField(unique=True)
    email_enabled = models.BooleanField(default=True, null=True)
    sms_enabled = models.BooleanField(default=True, null=True)
    push_enabled = models.BooleanField(default=True, null=True)
    quiet_hours_start = models.TimeField(null=True, blank=True)
    quiet_hours_end = models.TimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=datetime.now, null=True)

    class Meta:
        managed = False
        db_table = "notifications_userpreference"
