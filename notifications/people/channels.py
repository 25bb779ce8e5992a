"""The outbound channels to people, behind one small interface (after Netflix Dispatch's plugin
bases): email over SMTP, push in the FCM HTTP v1 format, SMS through an HTTP gateway.

A channel says whether it is configured; the planner skips (and logs) a channel that is not,
so an unconfigured channel is never an error. `send` returns normally on success and raises
`SendFailed` otherwise, saying whether another attempt could succeed. Addresses never reach a
log line or an error text.
"""

import abc
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid

import aiosmtplib
import httpx

from notifications.people.domain import ChannelName
from services.settings import Settings


@dataclass(frozen=True)
class Outgoing:
    """A rendered message for one address."""

    id: uuid.UUID
    channel: ChannelName
    recipient: str
    subject: str
    text: str
    html: str | None = None
    data: dict[str, str] = field(default_factory=dict)


class SendFailed(Exception):
    """The message did not go. `permanent`: trying again cannot help (a refused address)."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent


class Channel(abc.ABC):
    name: ChannelName

    @property
    @abc.abstractmethod
    def configured(self) -> bool: ...

    @abc.abstractmethod
    async def send(self, message: Outgoing) -> None: ...

    async def close(self) -> None:  # noqa: B027 - most channels hold nothing
        """Release what the channel holds (connections)."""


class EmailChannel(Channel):
    name = ChannelName.email

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def configured(self) -> bool:
        return bool(self.settings.smtp_host)

    def build(self, message: Outgoing) -> EmailMessage:
        email = EmailMessage()
        email["From"] = self.settings.smtp_from
        email["To"] = message.recipient
        email["Subject"] = message.subject
        # A stable Message-ID per message: a receiver can drop the copy a retry may bring.
        email["Message-ID"] = make_msgid(idstring=message.id.hex, domain="aduan.go.id")
        email.set_content(message.text)
        if message.html is not None:
            email.add_alternative(message.html, subtype="html")
        return email

    async def send(self, message: Outgoing) -> None:
        s = self.settings
        assert s.smtp_host is not None
        try:
            await aiosmtplib.send(
                self.build(message),
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_username,
                password=s.smtp_password.get_secret_value() if s.smtp_password else None,
                use_tls=s.smtp_tls == "tls",
                start_tls=s.smtp_tls == "starttls",
                timeout=s.people_send_timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = sorted({e.code for e in exc.recipients})
            # 5xx: the address does not exist or is refused for good; 4xx: try later.
            raise SendFailed(
                f"SMTP refused the recipient ({codes})", permanent=all(c >= 500 for c in codes)
            ) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise SendFailed(f"SMTP {exc.code}", permanent=False) from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise SendFailed(f"SMTP unavailable: {type(exc).__name__}") from exc


class HttpChannel(Channel):
    """A channel that POSTs JSON: 2xx is success; 4xx (but 408 and 429) a refusal for good."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._client: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=self.settings.people_send_timeout_seconds,
                follow_redirects=False,
                trust_env=False,
            )
        return self._client

    async def post(self, url: str, body: dict[str, object], headers: dict[str, str]) -> None:
        try:
            response = await self.client.post(url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise SendFailed(f"{self.name} unavailable: {type(exc).__name__}") from exc
        status = response.status_code
        if 200 <= status < 300:
            return
        permanent = 400 <= status < 500 and status not in {408, 429}
        raise SendFailed(f"{self.name} answered {status}", permanent=permanent)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


class PushChannel(HttpChannel):
    name = ChannelName.push

    @property
    def configured(self) -> bool:
        return bool(self.settings.push_endpoint)

    @staticmethod
    def body(message: Outgoing) -> dict[str, object]:
        """An FCM HTTP v1 `messages:send` body; `data` values are strings, as FCM wants."""
        return {
            "message": {
                "token": message.recipient,
                "notification": {"title": message.subject, "body": message.text},
                "data": {k: str(v) for k, v in message.data.items()},
            }
        }

    async def send(self, message: Outgoing) -> None:
        assert self.settings.push_endpoint is not None
        headers = {}
        if self.settings.push_token is not None:
            headers["Authorization"] = f"Bearer {self.settings.push_token.get_secret_value()}"
        await self.post(self.settings.push_endpoint, self.body(message), headers)


class SmsChannel(HttpChannel):
    name = ChannelName.sms

    @property
    def configured(self) -> bool:
        return bool(self.settings.sms_endpoint)

    async def send(self, message: Outgoing) -> None:
        assert self.settings.sms_endpoint is not None
        headers = {}
        if self.settings.sms_api_key is not None:
            headers["X-API-Key"] = self.settings.sms_api_key.get_secret_value()
        await self.post(
            self.settings.sms_endpoint, {"to": message.recipient, "text": message.text}, headers
        )


Channels = dict[ChannelName, Channel]


def build_channels(settings: Settings) -> Channels:
    return {
        ChannelName.email: EmailChannel(settings),
        ChannelName.push: PushChannel(settings),
        ChannelName.sms: SmsChannel(settings),
    }
