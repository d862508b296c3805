import random
import time
from datetime import datetime, time as clock
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError

from identity.models import User
from notifications.models import NotificationTemplate, UserPreference
from payments.models import Payment
from payments.services import complete_payment

PAYMENT_TEMPLATE = {
    "subject": "Payment received",
    "body": "Hi {name}, we received {amount} {currency}.",
    "type": "email",
    "variables": ["name", "amount", "currency"],
}
# Template edits swap the opening words and keep the rest, so every {placeholder} survives.
OPENERS = ["", "Good news! ", "Quick update: ", "Heads up: ", "Thanks! "]
SUBJECT_TAGS = ["", " [Bambu]", " (update)"]


def _reword(text, choices, rng, prefix=True):
    for choice in choices:
        if choice and (text.startswith(choice) if prefix else text.endswith(choice)):
            text = text[len(choice):] if prefix else text[: -len(choice)]
            current = choice
            break
    else:
        current = ""
    new = rng.choice([c for c in choices if c != current])
    return new + text if prefix else text + new


class Command(BaseCommand):
    help = "Write realistic traffic to the legacy tables through the ORM."

    def add_arguments(self, parser):
        parser.add_argument("--payments", type=int, default=0)
        parser.add_argument("--preference-changes", type=int, default=0)
        parser.add_argument("--template-edits", type=int, default=0)
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument("--sleep", type=float, default=0.0, help="seconds to pause between operations")

    def handle(self, *args, **options):
        rng = random.Random(options["seed"])
        user_ids = list(User.objects.order_by("id").values_list("id", flat=True))
        if not user_ids:
            raise CommandError("auth_user is empty: insert some users first")
        NotificationTemplate.objects.get_or_create(name="payment_received", defaults=PAYMENT_TEMPLATE)

        ops = (
            ["payment"] * options["payments"]
            + ["preference"] * options["preference_changes"]
            + ["template"] * options["template_edits"]
        )
        rng.shuffle(ops)
        counts = {"payments": 0, "sent": 0, "failed": 0, "skipped": 0, "preferences": 0, "templates": 0}
        for index, op in enumerate(ops):
            if index and options["sleep"]:
                time.sleep(options["sleep"])
            if op == "payment":
                result = self._payment(rng, user_ids)
                counts["payments"] += 1
                if result is None:
                    counts["skipped"] += 1
                elif getattr(result, "status", "sent") == "failed":
                    counts["failed"] += 1
                else:
                    counts["sent"] += 1
            elif op == "preference":
                self._preference(rng, user_ids)
                counts["preferences"] += 1
            else:
                self._template_edit(rng)
                counts["templates"] += 1

        self.stdout.write(
            "generate_traffic: payments={payments} (notifications sent={sent} failed={failed} "
            "skipped={skipped}) preference_changes={preferences} template_edits={templates}".format(**counts)
        )

    def _payment(self, rng, user_ids):
        payment = Payment.objects.create(
            user_id=rng.choice(user_ids),
            amount=Decimal(rng.randint(500, 50000)) / 100,
            currency=rng.choice(["GBP", "GBP", "EUR", "USD"]),
            status="pending",
            created_at=datetime.now(),
        )
        return complete_payment(payment.id)

    def _preference(self, rng, user_ids):
        preference, _ = UserPreference.objects.get_or_create(user_id=rng.choice(user_ids))
        channel = rng.choice(["email", "sms", "push"])
        field = f"{channel}_enabled"
        enabled = getattr(preference, field) is not False  # NULL counts as enabled
        setattr(preference, field, not enabled)
        if rng.random() < 0.5:
            preference.quiet_hours_start = clock(rng.choice([21, 22, 23]), rng.choice([0, 30]))
            preference.quiet_hours_end = clock(rng.choice([6, 7, 8]), rng.choice([0, 30]))
        else:
            preference.quiet_hours_start = preference.quiet_hours_end = None
        preference.updated_at = datetime.now()
        preference.save()

    def _template_edit(self, rng):
        template_ids = list(NotificationTemplate.objects.order_by("id").values_list("id", flat=True))
        template = NotificationTemplate.objects.get(id=rng.choice(template_ids))
        if rng.random() < 0.7 or not template.subject:
            template.body = _reword(template.body, OPENERS, rng)
        else:
            template.subject = _reword(template.subject, SUBJECT_TAGS, rng, prefix=False)
        template.updated_at = datetime.now()
        template.save()
