"""Real local receivers for alert tests: an SMTP server (aiosmtpd) and an HTTP server, both on
127.0.0.1, shared by the session and emptied before each test; plus a small spec and warehouse."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import shutil
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from bsc_pipeline.alerts.channels import EmailChannel, SlackChannel, SmtpConfig, WebhookChannel
from bsc_pipeline.spec.models import Spec

HANG_BOUND = 600.0
"""Seconds that only bound a hang (a server start, a stalled request): a busy machine is slow."""
HTTP_TIMEOUT = 60.0
"""The channels' time-out towards the local receivers: generous, a busy machine is slow."""

SMTP_USER, SMTP_PASSWORD = "alerts", "s3cret-smtp-pass"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Mailbox:
    """Every mail the local SMTP server accepted, parsed."""

    mails: list[EmailMessage] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(mail, EmailMessage)
        mail["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.mails.append(mail)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.mails if address in m["X-Envelope-To"]]


def _authenticator(mailbox: Mailbox) -> Any:
    def check(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            SMTP_USER.encode(),
            SMTP_PASSWORD.encode(),
        )
        if ok:
            mailbox.logins.append(SMTP_USER)
        return AuthResult(success=ok, handled=False)

    return check


@dataclass
class SmtpServer:
    mailbox: Mailbox
    port: int
    auth_port: int
    tls_port: int
    ca_file: Path

    def config(self, **kw: Any) -> SmtpConfig:
        options: dict[str, Any] = {"timeout": HTTP_TIMEOUT, **kw}
        return SmtpConfig(host="127.0.0.1", port=self.port, sender="bsc@example.test", **options)


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that only a client given it as CA will trust."""
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@pytest.fixture(scope="session")
def _smtp_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmtpServer]:
    mailbox = Mailbox()
    cert_file, key_file = _self_signed(tmp_path_factory.mktemp("tls"))
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert_file, key_file)
    tls = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=_free_port(),
        tls_context=server_tls,
        require_starttls=True,
        authenticator=_authenticator(mailbox),
        ready_timeout=HANG_BOUND,
    )
    plain = Controller(mailbox, hostname="127.0.0.1", port=_free_port(), ready_timeout=HANG_BOUND)
    authed = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=_free_port(),
        authenticator=_authenticator(mailbox),
        auth_require_tls=False,
        auth_required=True,
        ready_timeout=HANG_BOUND,
    )
    for controller in (plain, authed, tls):
        controller.start()
    yield SmtpServer(mailbox, plain.port, authed.port, tls.port, cert_file)
    for controller in (plain, authed, tls):
        controller.stop()


@pytest.fixture
def smtp(_smtp_session: SmtpServer) -> SmtpServer:
    _smtp_session.mailbox.mails.clear()
    _smtp_session.mailbox.logins.clear()
    return _smtp_session


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


STALL = -1
"""A scripted status that never answers: the client's own time-out ends the request."""


@dataclass
class Web:
    """A scripted HTTP receiver: each path answers with its queued statuses, then 200."""

    port: int
    requests: list[Request] = field(default_factory=list)
    script: dict[str, list[int]] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def to(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]


def _handler(web: Web) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = json.loads(self.rfile.read(length) or b"{}")
            headers = {k.lower(): v for k, v in self.headers.items()}
            web.requests.append(Request(self.path, headers, body))
            queue = web.script.get(self.path, [])
            status = queue.pop(0) if queue else 200
            if status == STALL:
                # No answer until the client has given up and closed the connection.
                self.close_connection = True
                self.connection.settimeout(HANG_BOUND)
                with contextlib.suppress(OSError):
                    self.connection.recv(1)
                return
            try:
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
            except OSError:
                return
            with contextlib.suppress(OSError):  # the client may have timed out and left
                self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


@pytest.fixture(scope="session")
def _web_session() -> Iterator[Web]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    web = Web(port=server.server_address[1])
    server.RequestHandlerClass = _handler(web)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield web
    server.shutdown()
    server.server_close()


@pytest.fixture
def web(_web_session: Web) -> Web:
    _web_session.requests.clear()
    _web_session.script.clear()
    return _web_session


SPEC: dict[str, Any] = {
    "scorecard": {"name": "Acme scorecard"},
    "owners": [
        {"id": "sales_lead", "name": "Sam Sales", "email": "sam@example.test"},
        {"id": "finance_data", "name": "Fay Finance", "email": "fay@example.test"},
        {"id": "crm_data", "name": "Cal CRM", "webhook_env": "BSC_TEST_CRM_WEBHOOK"},
        {"id": "ops", "name": "Olga Ops", "slack_webhook_env": "BSC_TEST_OPS_SLACK"},
        {"id": "engineers", "name": "Data engineers", "email": "eng@example.test"},
        {"id": "helpdesk", "name": "Helpdesk", "email": "help@example.test"},
        {"id": "nobody", "name": "No Contact"},
    ],
    "perspectives": [{"id": "financial", "name": "Financial"}],
    "objectives": [{"id": "grow", "name": "Grow revenue", "perspective": "financial"}],
    "measures": [
        {
            "id": "revenue",
            "name": "Revenue",
            "kind": "base",
            "objective": "grow",
            "owner": "sales_lead",
            "unit": "EUR",
            "decimals": 0,
            "source": "gl_lines",
            "agg": "sum",
            "column": "amount",
            "target": {"kind": "constant", "value": 1000},
        },
        {
            "id": "pipeline_coverage",
            "name": "Pipeline coverage",
            "kind": "base",
            "objective": "grow",
            "owner": "sales_lead",
            "unit": "x",
            "lead_lag": "leading",
            "source": "opportunities",
            "agg": "sum",
            "column": "amount",
        },
        {
            "id": "win_rate",
            "name": "Win rate",
            "kind": "ratio",
            "objective": "grow",
            "owner": "ops",
            "unit": "%",
            "numerator": "pipeline_coverage",
            "denominator": "revenue",
        },
        {
            "id": "nps",
            "name": "Net promoter score",
            "kind": "base",
            "objective": "grow",
            "owner": "ops",
            "unit": "score",
            "review": "quarterly",
            "source": "opportunities",
            "agg": "mean",
            "column": "amount",
        },
        {
            "id": "orphan",
            "name": "Orphan measure",
            "kind": "base",
            "objective": "grow",
            "owner": "nobody",
            "unit": "count",
            "source": "gl_lines",
            "agg": "count",
        },
    ],
    "links": [
        {"driver": "pipeline_coverage", "outcome": "revenue", "lag_months": 2},
        {"driver": "revenue", "outcome": "win_rate"},
    ],
    "datasets": {"gl_lines": {"owner": "finance_data"}, "opportunities": {"owner": "crm_data"}},
    "alerts": {"fallback_owner": "helpdesk", "engineers": "engineers", "max_attempts": 3},
}


def make_spec(**alerts: Any) -> Spec:
    data = json.loads(json.dumps(SPEC))
    data["alerts"].update(alerts)
    return Spec.model_validate(data)


@pytest.fixture
def spec() -> Spec:
    return make_spec()


@pytest.fixture(scope="session")
def _empty_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrating takes a second or two on disk: do it once and copy the file."""
    from bsc_pipeline.warehouse.engine import make_engine, upgrade_warehouse

    path = tmp_path_factory.mktemp("warehouse") / "empty.db"
    template = make_engine(f"sqlite:///{path}")
    upgrade_warehouse(template)
    with template.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    template.dispose()
    return path


@pytest.fixture
def engine(tmp_path: Path, _empty_warehouse: Path) -> Iterator[sa.Engine]:
    path = tmp_path / "warehouse.db"
    shutil.copyfile(_empty_warehouse, path)
    engine = sa.create_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


@pytest.fixture
def channels(smtp: SmtpServer) -> list[Any]:
    return [EmailChannel(smtp.config()), SlackChannel(), WebhookChannel(timeout=HTTP_TIMEOUT)]


def _row(
    measure_id: str,
    period: str,
    status: str,
    value: float | None = None,
    *,
    target: float | None = 1000.0,
    period_type: str = "month",
    as_of_month: str | None = None,
    is_partial: bool = False,
    data_note: str | None = None,
    trend: str | None = None,
) -> dict[str, Any]:
    """One scored-measure row with the columns plan_events reads."""
    variance = None if value is None or target is None else value - target
    return {
        "measure_id": measure_id,
        "period_type": period_type,
        "period": period,
        "as_of_month": as_of_month or period,
        "is_partial": is_partial,
        "status": status,
        "value": value,
        "target": target,
        "variance": variance,
        "variance_pct": None if variance is None or not target else variance / abs(target) * 100,
        "trend": trend,
        "is_official": not is_partial,
        "data_note": data_note,
    }


def _frame(*rows: dict[str, Any]) -> pd.DataFrame:
    columns = list(_row("x", "2025-01", "green").keys())
    return pd.DataFrame(list(rows), columns=columns)


@pytest.fixture
def row() -> Any:
    return _row


@pytest.fixture
def frame() -> Any:
    return _frame


@pytest.fixture
def spec_with() -> Any:
    """A spec with other alert settings: `spec_with(repeat_after_periods=3)`."""
    return make_spec
