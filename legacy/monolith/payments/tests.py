import re
from decimal import Decimal
from io import StringIO

from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import TestCase, override_settings

from bambu_monolith.testing import FakeService, make_user
from notifications.models import NotificationLog, NotificationTemplate, UserPreference
from payments.models import Payment
from payments.services import complete_payment


def payment_template():
    return NotificationTemplate.objects.create(
        name="payment_received", subject="Payment received", body="Hi {name}, we received {amount} {currency}.",
        type="email", variables=["name", "amount", "currency"],
    )


@override_settings(NOTIFICATIONS_BACKEND="legacy")
class CompletePaymentTests(TestCase):
    def test_marks_completed_and_writes_the_log(self):
        payment_template()
        user = make_user("cat", first_name="Cat")
        payment = Payment.objects.create(user=user, amount=Decimal("42.50"), currency="GBP")
        log = complete_payment(payment.id)
        payment.refresh_from_db()
        self.assertEqual(payment.status, "completed")
        self.assertIsNotNone(payment.completed_at)
        row = NotificationLog.objects.get(id=log.id)
        self.assertEqual((row.user_id, row.status, row.type), (user.id, "sent", "email"))
        self.assertEqual(row.metadata, {"name": "Cat", "amount": "42.50", "currency": "GBP"})

    @override_settings(NOTIFICATIONS_BACKEND="service")
    def test_service_mode_sends_an_idempotency_key_per_payment(self):
        user = make_user("dan", first_name="Dan")
        payment = Payment.objects.create(user=user, amount=Decimal("10.00"), currency="EUR")
        with FakeService() as fake, override_settings(NOTIFICATION_SERVICE_URL=fake.url, NOTIFICATION_SERVICE_API_KEY="k"):
            complete_payment(payment.id)
        [request] = fake.requests
        self.assertEqual(request["headers"]["Idempotency-Key"], f"payment-{payment.id}-completed")
        self.assertEqual(request["json"]["variables"], {"name": "Dan", "amount": "10.00", "currency": "EUR"})
        self.assertEqual(NotificationLog.objects.count(), 0)
        self.assertEqual(Payment.objects.get(id=payment.id).status, "completed")


@override_settings(NOTIFICATIONS_BACKEND="legacy")
class GenerateTrafficTests(TestCase):
    def run_command(self, *args):
        out = StringIO()
        call_command("generate_traffic", *args, stdout=out)
        return out.getvalue()

    def test_writes_payments_logs_preferences_and_template_edits(self):
        users = [make_user(f"user{i}", first_name=f"User{i}") for i in range(4)]
        NotificationTemplate.objects.create(name="welcome", subject="Welcome {name}", body="Hi {name}!", type="email")
        out = self.run_command("--payments", "12", "--preference-changes", "8", "--template-edits", "6", "--seed", "7")

        self.assertIn("generate_traffic: payments=12", out)
        self.assertEqual(out.count("\n"), 1)
        template = NotificationTemplate.objects.get(name="payment_received")
        self.assertEqual((template.type, template.variables), ("email", ["name", "amount", "currency"]))
        self.assertEqual(Payment.objects.filter(status="completed").count(), 12)
        self.assertTrue(Payment.objects.filter(completed_at__isnull=False).exists())
        # A payment notification is skipped only when the user's email channel is disabled.
        logs = NotificationLog.objects.filter(template=template)
        self.assertGreater(logs.count(), 0)
        self.assertEqual(logs.count(), int(re.search(r"sent=(\d+)", out).group(1)))
        prefs = UserPreference.objects.all()
        self.assertGreater(prefs.count(), 0)
        self.assertTrue({p.user_id for p in prefs} <= {u.id for u in users})
        for p in prefs:
            self.assertEqual(p.quiet_hours_start is None, p.quiet_hours_end is None)
        self.assertIn("template_edits=6", out)
        for t in NotificationTemplate.objects.all():
            for key in (t.variables or ["name"]):
                self.assertIn("{" + key + "}", t.body)
        edited = NotificationTemplate.objects.exclude(body__in=["Hi {name}!", "Hi {name}, we received {amount} {currency}."])
        edited_subjects = NotificationTemplate.objects.exclude(subject__in=["Welcome {name}", "Payment received"])
        self.assertTrue(edited.exists() or edited_subjects.exists())

    def test_same_seed_same_traffic(self):
        for i in range(3):
            make_user(f"u{i}")
        self.run_command("--payments", "5", "--seed", "3")
        first = list(Payment.objects.order_by("id").values_list("user_id", "amount", "currency"))
        Payment.objects.all().delete()
        self.run_command("--payments", "5", "--seed", "3")
        self.assertEqual(list(Payment.objects.order_by("id").values_list("user_id", "amount", "currency")), first)

    def test_needs_users(self):
        with self.assertRaises(CommandError):
            self.run_command("--payments", "1")
