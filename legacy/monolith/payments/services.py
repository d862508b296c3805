from datetime import datetime

from django.db import transaction

from notifications.services import NotificationService
from payments.models import Payment


def complete_payment(payment_id):
    """Mark the payment completed, then notify the user (outside the transaction)."""
    with transaction.atomic():
        payment = Payment.objects.select_for_update().select_related("user").get(id=payment_id)
        payment.status = "completed"
        payment.completed_at = datetime.now()
        payment.save(update_fields=["status", "completed_at"])
    user = payment.user
    return NotificationService.send_notification(
        user.id,
        "payment_received",
        {"name": user.first_name or user.username, "amount": payment.amount, "currency": payment.currency},
        idempotency_key=f"payment-{payment_id}-completed",
    )
