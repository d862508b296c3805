from django.db import models


class User(models.Model):
    """django.contrib.auth's user table, mapped read/write without the auth app."""

    username = models.CharField(max_length=150, unique=True)
    email = models.CharField(max_length=254, blank=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    password = models.CharField(max_length=128)
    is_superuser = models.BooleanField(default=False)
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField()
    last_login = models.DateTimeField(null=True, blank=True)

    class Meta:
        managed = False
        db_table = "auth_user"

    def __str__(self):
        return self.username


class Profile(models.Model):
    user = models.OneToOneField(User, on_delete=models.DO_NOTHING, related_name="profile")
    phone = models.CharField(max_length=20, null=True, blank=True)
    push_token = models.CharField(max_length=255, null=True, blank=True)
    timezone = models.CharField(max_length=64, default="UTC")

    class Meta:
        managed = False
        db_table = "identity_profile"
