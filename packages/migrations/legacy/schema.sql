-- The monolith's tables (database of the Django project `bambu_monolith`), exactly as they are
-- in production: the source of truth until the migration's phase 4. Django's models map them with
-- `managed = False`. Timestamps of the notifications app are naive (`TIMESTAMP`): the monolith runs
-- with USE_TZ = False and writes local time in its TIME_ZONE.

-- identity: Django's auth user, as django.contrib.auth's migrations create it.
CREATE TABLE auth_user (
    id SERIAL PRIMARY KEY,
    password VARCHAR(128) NOT NULL,
    last_login TIMESTAMP WITH TIME ZONE,
    is_superuser BOOLEAN NOT NULL,
    username VARCHAR(150) UNIQUE NOT NULL,
    first_name VARCHAR(150) NOT NULL,
    last_name VARCHAR(150) NOT NULL,
    email VARCHAR(254) NOT NULL,
    is_staff BOOLEAN NOT NULL,
    is_active BOOLEAN NOT NULL,
    date_joined TIMESTAMP WITH TIME ZONE NOT NULL
);

-- identity: what the monolith knows beyond auth_user.
CREATE TABLE identity_profile (
    id SERIAL PRIMARY KEY,
    user_id INTEGER UNIQUE NOT NULL REFERENCES auth_user(id) DEFERRABLE INITIALLY DEFERRED,
    phone VARCHAR(20),
    push_token VARCHAR(255),
    timezone VARCHAR(64) NOT NULL DEFAULT 'UTC'
);

-- payments: completing one sends the payment notification.
CREATE TABLE payments_payment (
    id SERIAL PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES auth_user(id) DEFERRABLE INITIALLY DEFERRED,
    amount NUMERIC(12, 2) NOT NULL,
    currency VARCHAR(3) NOT NULL,
    status VARCHAR(20) NOT NULL CHECK (status IN ('pending', 'completed', 'failed')),
    created_at TIMESTAMP NOT NULL DEFAULT NOW(),
    completed_at TIMESTAMP
);
CREATE INDEX payments_payment_user_id ON payments_payment (user_id);

-- notifications
CREATE TABLE notifications_notificationtemplate (
    id SERIAL PRIMARY KEY,
    name VARCHAR(100) UNIQUE NOT NULL,
    subject VARCHAR(255),
    body TEXT NOT NULL,
    type VARCHAR(20) CHECK (type IN ('email', 'sms', 'push')),
    variables JSONB,
    created_at TIMESTAMP DEFAULT NOW(),
    updated_at TIMESTAMP DEFAULT NOW()
);

CREATE TABLE notifications_notificationlog (
    id SERIAL PRIMARY KEY,
    user_id INTEGER NOT NULL,
    template_id INTEGER REFERENCES notifications_notificationtemplate(id),
    type VARCHAR(20) CHECK (type IN ('email', 'sms', 'push')),
    status VARCHAR(20) CHECK (status IN ('pending', 'sent', 'failed', 'bounced')),
    sent_at TIMESTAMP,
    error_message TEXT,
    metadata JSONB
);

CREATE TABLE notifications_userpreference (
    id SERIAL PRIMARY KEY,
    user_id INTEGER UNIQUE NOT NULL,
    email_enabled BOOLEAN DEFAULT TRUE,
    sms_enabled BOOLEAN DEFAULT TRUE,
    push_enabled BOOLEAN DEFAULT TRUE,
    quiet_hours_start TIME,
    quiet_hours_end TIME,
    updated_at TIMESTAMP DEFAULT NOW()
);
