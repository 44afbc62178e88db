"""Outgoing e-mail and order webhooks."""
import smtplib
from email.message import EmailMessage

from app.clients import webhooks
from app.settings import settings


def _message(to: str, subject: str, body: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "shop@example.com"
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    return msg


def send_order_confirmation(to: str, order_id: int) -> None:
    msg = _message(to, f"Order #{order_id} confirmed", f"Thanks! Order #{order_id} is on its way.")
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
        smtp.send_message(msg)


def send_password_reset(to: str, token: str) -> None:
    msg = _message(to, "Reset your password", f"https://shop.example.com/reset?token={token}")
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10) as smtp:
        smtp.send_message(msg)


async def notify_order_paid(order_id: int) -> None:
    """Tell the ERP that an order has been paid, so the warehouse starts picking it."""
    resp = await webhooks.post(
        settings.order_webhook_url, json={"event": "order.paid", "order_id": order_id}
    )
    resp.raise_for_status()
