"""Delivery channels: SMTP email, Slack incoming webhook and a generic JSON webhook.

Addresses that are secrets (webhook URLs, the SMTP password) come from environment variables when
a channel is built or used; they never appear in a message, a log line or a recorded attempt —
every recorded target is redacted and every error text is scrubbed of them.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import smtplib
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Protocol
from urllib.parse import urlsplit

from bsc_pipeline.alerts.messages import DEDUP_HEADER, Message
from bsc_pipeline.spec.models import Owner, Spec

DEFAULT_TIMEOUT = 10.0
_TRUE = {"1", "true", "yes", "on"}


class DeliveryError(Exception):
    """A send that did not succeed; `retryable` says whether trying again later may help."""

    def __init__(self, detail: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retryable = retryable
        self.retry_after = retry_after


class Channel(Protocol):
    """How a digest reaches an owner over one medium."""

    name: str

    def target_for(self, owner: Owner) -> str | None:
        """Where this owner is reached on this channel, or None when they are not."""

    def send(self, target: str, message: Message) -> None:
        """Deliver or raise DeliveryError."""

    def redact(self, target: str) -> str:
        """The target as it may be recorded and shown."""


@dataclass(frozen=True)
class SmtpConfig:
    """Where mail goes out; STARTTLS and login are used only when configured."""

    host: str
    port: int = 25
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    sender: str = "bsc-pipeline@localhost"
    timeout: float = DEFAULT_TIMEOUT
    ca_file: str | None = None
    """Extra CA bundle to verify the server's STARTTLS certificate (a private CA)."""

    def __repr__(self) -> str:
        # The dataclass repr would print the password into any log or traceback.
        return f"SmtpConfig(host={self.host!r}, port={self.port}, user={self.user!r})"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> SmtpConfig | None:
        """From `BSC_SMTP_*` and `BSC_ALERT_FROM`; None when `BSC_SMTP_HOST` is not set."""
        env = os.environ if env is None else env
        host = env.get("BSC_SMTP_HOST")
        if not host:
            return None
        port_text = env.get("BSC_SMTP_PORT", "25")
        try:
            port = int(port_text)
        except ValueError as exc:
            raise ValueError(f"BSC_SMTP_PORT must be a port number, got {port_text!r}") from exc
        return cls(
            host=host,
            port=port,
            user=env.get("BSC_SMTP_USER") or None,
            password=env.get("BSC_SMTP_PASSWORD") or None,
            starttls=env.get("BSC_SMTP_STARTTLS", "").strip().lower() in _TRUE,
            sender=env.get("BSC_ALERT_FROM") or cls.sender,
            ca_file=env.get("BSC_SMTP_CA_FILE") or None,
        )


class EmailChannel:
    """Plain text and HTML email with the dedup keys in a header and a stable Message-ID."""

    name = "email"

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config

    def target_for(self, owner: Owner) -> str | None:
        return owner.email

    def redact(self, target: str) -> str:
        local, _, domain = target.partition("@")
        return f"{local[:1]}***@{domain}" if domain else "***"

    def send(self, target: str, message: Message) -> None:
        mail = EmailMessage()
        mail["From"] = self.config.sender
        mail["To"] = target
        mail["Subject"] = message.subject
        for key in message.dedup_keys:
            # One header per key: a single long header would be folded across lines.
            mail[DEDUP_HEADER] = key
        mail["Message-ID"] = _message_id(message.dedup_keys, target)
        mail.set_content(message.text)
        mail.add_alternative(message.html, subtype="html")
        secrets = [self.config.password]
        try:
            with smtplib.SMTP(
                self.config.host, self.config.port, timeout=self.config.timeout
            ) as smtp:
                if self.config.starttls:
                    smtp.starttls(context=ssl.create_default_context(cafile=self.config.ca_file))
                if self.config.user and self.config.password:
                    smtp.login(self.config.user, self.config.password)
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise DeliveryError(
                scrub(f"recipient refused: SMTP {codes}", secrets),
                retryable=all(400 <= c < 500 for c in codes),
            ) from None
        except smtplib.SMTPResponseException as exc:
            detail = scrub(f"SMTP {exc.smtp_code}: {_decode(exc.smtp_error)}", secrets)
            raise DeliveryError(detail, retryable=exc.smtp_code < 500) from None
        except ssl.SSLCertVerificationError as exc:
            detail = f"the server's certificate is not trusted ({exc.verify_message}); " + (
                "set BSC_SMTP_CA_FILE to its CA bundle"
            )
            raise DeliveryError(detail, retryable=False) from None
        except smtplib.SMTPNotSupportedError as exc:
            detail = f"{exc}: unset BSC_SMTP_STARTTLS or enable it on the server"
            raise DeliveryError(detail, retryable=False) from None
        except (smtplib.SMTPException, OSError) as exc:
            detail = scrub(f"{type(exc).__name__}: {exc}", secrets)
            raise DeliveryError(detail, retryable=True) from None


class WebhookChannel:
    """A JSON POST of the digest body to the URL in the owner's `webhook_env` variable."""

    name = "webhook"
    env_field = "webhook_env"

    def __init__(
        self, *, timeout: float = DEFAULT_TIMEOUT, env: Mapping[str, str] | None = None
    ) -> None:
        self.timeout = timeout
        self.env = env

    def target_for(self, owner: Owner) -> str | None:
        variable = getattr(owner, self.env_field)
        if not variable:
            return None
        return (os.environ if self.env is None else self.env).get(variable) or None

    def redact(self, target: str) -> str:
        parts = urlsplit(target)
        return f"{parts.scheme}://{parts.hostname}/***" if parts.hostname else "***"

    def payload(self, message: Message) -> dict[str, object]:
        return message.body

    def send(self, target: str, message: Message) -> None:
        parts = urlsplit(target)
        if parts.scheme not in ("http", "https"):
            raise DeliveryError(
                f"{self.name} URL must be http(s), got scheme {parts.scheme!r}", retryable=False
            )
        data = json.dumps(self.payload(message), default=str).encode("utf-8")
        secrets = [target, parts.path, parts.query]
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            target,
            data=data,
            method="POST",
            headers={"Content-Type": "application/json", DEDUP_HEADER: message.dedup_header},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                response.read()
        except urllib.error.HTTPError as exc:
            retryable = exc.code == 429 or exc.code >= 500
            detail = scrub(f"HTTP {exc.code} {exc.reason}", secrets)
            raise DeliveryError(
                detail, retryable=retryable, retry_after=_retry_after(exc.headers)
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            detail = scrub(f"{type(exc).__name__}: {reason}", secrets)
            raise DeliveryError(detail, retryable=True) from None
        except (http.client.InvalidURL, ValueError) as exc:
            # http.client.InvalidURL (a space, a control character): fix the variable's value.
            detail = scrub(f"the {self.name} URL is not valid ({exc})", secrets)
            raise DeliveryError(detail, retryable=False) from None


class SlackChannel(WebhookChannel):
    """A Slack incoming webhook: the plain-text digest, dedup keys in the last line."""

    name = "slack"
    env_field = "slack_webhook_env"

    def payload(self, message: Message) -> dict[str, object]:
        text = f"*{message.subject}*\n{message.text}\n_dedup: {message.dedup_header}_"
        return {"text": text, "dedup_keys": list(message.dedup_keys)}


def default_channels() -> list[Channel]:
    """Every channel the environment configures: webhooks always, email when SMTP is set."""
    channels: list[Channel] = [SlackChannel(), WebhookChannel()]
    smtp = SmtpConfig.from_env()
    if smtp is not None:
        channels.insert(0, EmailChannel(smtp))
    return channels


def secret_values(spec: Spec | None = None) -> list[str]:
    """Values that must never be shown: the SMTP password and every owner's webhook URL."""
    names = ["BSC_SMTP_PASSWORD"]
    if spec is not None:
        for owner in spec.owners:
            names += [n for n in (owner.slack_webhook_env, owner.webhook_env) if n]
    return [os.environ[n] for n in names if os.environ.get(n)]


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """Remove secrets from a text that will be stored or shown."""
    for secret in secrets:
        if secret and len(secret) > 1:
            text = text.replace(secret, "***")
    return text


def _retry_after(headers: Any) -> float | None:
    """Seconds from a Retry-After header (the HTTP-date form is ignored: backoff covers it)."""
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _message_id(keys: Iterable[str], target: str) -> str:
    """Same digest to the same receiver → same Message-ID, so mail clients fold a duplicate."""
    digest = hashlib.sha256("\n".join([target, *keys]).encode("utf-8")).hexdigest()[:32]
    return f"<{digest}@bsc-pipeline>"


def _decode(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value
