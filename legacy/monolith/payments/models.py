from datetime import datetime

from django.db import models

from identity.models import User


class Payment(models.Model):
    STATUSES = [("pending", "pending"), ("completed", "completed"), ("failed", "failed")]

    user = models.ForeignKey(User, on_delete=models.DO_NOTHING, related_name="payments")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=20, choices=STATUSES, default="pending")
    created_at = models.DateTimeField(default=datetime.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        managed = False
        db_table = "payments_payment"
