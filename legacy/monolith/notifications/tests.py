from unittest import mock

import requests
from django.test import TestCase, override_settings

from bambu_monolith.testing import FakeService, make_user
from notifications.models import NotificationLog, NotificationTemplate, UserPreference
from notifications.services import NotificationService, render_template


def service_settings(fake, **extra):
    return override_settings(NOTIFICATION_SERVICE_URL=fake.url, NOTIFICATION_SERVICE_API_KEY="test-key", **extra)


class RenderTemplateTests(TestCase):
    def test_str_replace_per_key(self):
        text = render_template("Hi {name}, you paid {amount} {currency}. {unknown}", {"name": "Ann {amount}", "amount": 12.5})
        # Replacement is sequential str.replace: a value that looks like a placeholder is replaced too.
        self.assertEqual(text, "Hi Ann 12.5, you paid 12.5 {currency}. {unknown}")


@override_settings(NOTIFICATIONS_BACKEND="legacy", NOTIFICATIONS_READS="legacy")
class LegacySendTests(TestCase):
    def setUp(self):
        self.user = make_user("ann", first_name="Ann", phone="+447700900123")
        self.template = NotificationTemplate.objects.create(
            name="welcome", subject="Welcome {name}", body="Hi {name}, your code is {code}, total {amount}.", type="email",
            variables=["name", "code", "amount"],
        )

    def test_renders_and_writes_a_sent_log(self):
        with mock.patch("notifications.providers.send_email") as send_email:
            log = NotificationService.send_notification(self.user.id, "welcome", {"name": "Ann", "code": "{name}", "amount": 12.5})
        # "code" is replaced after "name", so its "{name}" value survives literally.
        send_email.assert_called_once_with("ann@example.com", "Welcome Ann", "Hi Ann, your code is {name}, total 12.5.")
        row = NotificationLog.objects.get(id=log.id)
        self.assertEqual((row.user_id, row.template_id, row.type, row.status), (self.user.id, self.template.id, "email", "sent"))
        self.assertIsNotNone(row.sent_at)
        self.assertIsNone(row.sent_at.tzinfo)
        self.assertIsNone(row.error_message)
        self.assertEqual(row.metadata, {"name": "Ann", "code": "{name}", "amount": 12.5})

    def test_missing_preference_row_means_enabled_and_sms_uses_profile_phone(self):
        NotificationTemplate.objects.create(name="otp", body="Code {code}", type="sms")
        log = NotificationService.send_notification(self.user.id, "otp", {"code": 1234})
        self.assertEqual((log.type, log.status), ("sms", "sent"))

    def test_disabled_channel_sends_and_writes_nothing(self):
        UserPreference.objects.create(user_id=self.user.id, email_enabled=False)
        with mock.patch("notifications.providers.send_email") as send_email:
            result = NotificationService.send_notification(self.user.id, "welcome", {"name": "Ann"})
        self.assertIsNone(result)
        send_email.assert_not_called()
        self.assertEqual(NotificationLog.objects.count(), 0)

    def test_failing_provider_writes_a_failed_log(self):
        nobody = make_user("nobody", email="")
        with self.assertLogs("notifications.services", "WARNING"):
            log = NotificationService.send_notification(nobody.id, "welcome", {"name": "X"})
        row = NotificationLog.objects.get(id=log.id)
        self.assertEqual(row.status, "failed")
        self.assertIsNone(row.sent_at)
        self.assertIn("invalid email address", row.error_message)
        self.assertEqual(row.metadata, {"name": "X"})

    def test_history_newest_first_as_dicts(self):
        for i in range(3):
            NotificationService.send_notification(self.user.id, "welcome", {"name": f"n{i}"})
        make_user("other")
        history = NotificationService.history(self.user.id, limit=2)
        self.assertEqual([h["metadata"]["name"] for h in history], ["n2", "n1"])
        self.assertEqual(history[0]["template_name"], "welcome")
        self.assertEqual(history[0]["status"], "sent")
        self.assertIsInstance(history[0]["sent_at"], str)


@override_settings(NOTIFICATIONS_BACKEND="service", NOTIFICATIONS_READS="service")
class ServiceModeTests(TestCase):
    def setUp(self):
        self.user = make_user("bob")
        NotificationTemplate.objects.create(name="welcome", body="Hi {name}", type="email")

    def test_send_posts_json_with_bearer_and_idempotency_key(self):
        with FakeService(reply={"id": "abc", "status": "queued"}) as fake, service_settings(fake):
            result = NotificationService.send_notification(
                self.user.id, "welcome", {"name": "Bob", "amount": 12.5}, idempotency_key="k-1"
            )
        self.assertEqual(result, {"id": "abc", "status": "queued"})
        [request] = fake.requests
        self.assertEqual((request["method"], request["path"]), ("POST", "/api/v1/notifications/send"))
        self.assertEqual(
            request["json"],
            {
                "user_id": self.user.id,
                "template_name": "welcome",
                "variables": {"name": "Bob", "amount": "12.5"},
                "metadata": {"name": "Bob", "amount": "12.5"},
            },
        )
        self.assertEqual(request["headers"]["Authorization"], "Bearer test-key")
        self.assertEqual(request["headers"]["Idempotency-Key"], "k-1")
        self.assertEqual(NotificationLog.objects.count(), 0)

    def test_send_defaults_to_a_uuid_idempotency_key(self):
        with FakeService() as fake, service_settings(fake):
            NotificationService.send_notification(self.user.id, "welcome", {"name": "Bob"})
            NotificationService.send_notification(self.user.id, "welcome", {"name": "Bob"})
        keys = [r["headers"]["Idempotency-Key"] for r in fake.requests]
        self.assertEqual(len(set(keys)), 2)
        self.assertEqual(len(keys[0]), 36)

    def test_send_raises_on_non_2xx(self):
        with FakeService(status=500, reply={"error": "boom"}) as fake, service_settings(fake):
            with self.assertRaises(requests.HTTPError):
                NotificationService.send_notification(self.user.id, "welcome", {"name": "Bob"})
        self.assertEqual(NotificationLog.objects.count(), 0)

    def test_history_reads_the_service(self):
        rows = [{"id": "n2"}, {"id": "n1"}]
        with FakeService(status=200, reply={"data": rows}) as fake, service_settings(fake):
            self.assertEqual(NotificationService.history(self.user.id, limit=5), rows)
        [request] = fake.requests
        self.assertEqual((request["method"], request["path"]), ("GET", f"/api/v1/notifications/user/{self.user.id}?limit=5"))
        self.assertEqual(request["headers"]["Authorization"], "Bearer test-key")
