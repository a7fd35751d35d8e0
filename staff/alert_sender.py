"""The alert sender: `python -m staff.alert_sender` sends the queued staff alerts, for as long as it runs.

Every second it claims the deliveries that are due (staff/alert_store.py: a lease, so
several senders, one per replica, never send the same one at the same time), sends them
(staff/alert_transports.py) and records the outcome; a failure is retried with the backoff
of the clinic config's alerts section. A small health endpoint on loopback says how many
are waiting and whether some keep failing (503 then, for a monitor to page someone).

Logs name a conversation by its salted reference only (clinic/log_privacy.py): no sender
id, no patient text.
"""

import argparse
import asyncio
import logging
import os
import signal
import socket
import sys
import uuid
from dataclasses import dataclass
from typing import Optional

import sqlalchemy as sa
from aiohttp import web

from clinic.clinic_config import ClinicConfigError, load_clinic_config
from clinic.log_privacy import conversation_ref
from staff import alert_message, alert_store, alert_transports
from staff.alert_config import EMAIL, WEBHOOK, AlertConfig, AlertConfigError, load_alert_config
from staff.database import open_engine, schema_for, tracker_store_url

logger = logging.getLogger("staff.alert_sender")

POLL_SECONDS = 1.0
CLAIM_LIMIT = 10  # sent at once, so a batch takes one transport timeout at most
# Longer than a batch's sends: a lease never runs out while its sender is still sending.
LEASE_SECONDS = 2 * alert_transports.TIMEOUT_SECONDS + 30


def sender_id_for_lease() -> str:
    """This process's name in the leases: host, pid and a random part (a pid is reused)."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass
class AlertSender:
    engine: sa.engine.Engine
    tables: alert_store.AlertTables
    config: AlertConfig
    clinic_name: str
    owner: str

    async def send(self, delivery: alert_store.Delivery) -> None:
        """Send one delivery by its transport and record the outcome."""
        include = self.config.include_message_text
        try:
            if delivery.transport == EMAIL and self.config.email:
                await alert_transports.send_email(
                    self.config.email,
                    alert_message.email_subject(delivery, self.clinic_name),
                    alert_message.email_body(
                        delivery, self.clinic_name, self.config.inbox_url, include
                    ),
                    delivery.key,
                )
            elif delivery.transport == WEBHOOK and self.config.webhook:
                await alert_transports.post_webhook(
                    self.config.webhook,
                    alert_message.webhook_payload(delivery, self.config.inbox_url, include),
                    delivery.key,
                )
            else:  # queued for a transport the clinic has since turned off
                raise alert_transports.TransportError(f"{delivery.transport}: not configured")
        except alert_transports.TransportError as error:
            await asyncio.to_thread(
                alert_store.mark_failed,
                self.engine,
                self.tables,
                delivery,
                self.owner,
                str(error),
                self.config.retry_seconds,
                self.config.retry_max_seconds,
            )
            logger.warning(
                "alert %s (%s, conversation %s): %s failed, attempt %d: %s",
                delivery.alert_id,
                delivery.reason,
                conversation_ref(delivery.sender_id),
                delivery.transport,
                delivery.attempts + 1,
                error,
            )
            return
        await asyncio.to_thread(
            alert_store.mark_sent, self.engine, self.tables, delivery, self.owner
        )
        logger.info(
            "alert %s (%s, conversation %s): sent by %s",
            delivery.alert_id,
            delivery.reason,
            conversation_ref(delivery.sender_id),
            delivery.transport,
        )

    async def send_due(self) -> int:
        """Claim what is due and send it; how many were claimed."""
        deliveries = await asyncio.to_thread(
            alert_store.claim_due,
            self.engine,
            self.tables,
            self.owner,
            LEASE_SECONDS,
            None,
            CLAIM_LIMIT,
        )
        await asyncio.gather(*(self.send(d) for d in deliveries))
        return len(deliveries)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                if await self.send_due() == CLAIM_LIMIT:
                    continue  # more may be due
            except sa.exc.SQLAlchemyError as error:  # the database is down: try again later
                logger.error("reading the alert queue failed: %s", type(error).__name__)
            try:
                await asyncio.wait_for(stop.wait(), POLL_SECONDS)
            except asyncio.TimeoutError:
                pass

    async def health(self, _request: web.Request) -> web.Response:
        try:
            pending = await asyncio.to_thread(
                alert_store.pending_deliveries, self.engine, self.tables
            )
            failing = await asyncio.to_thread(
                alert_store.failing_deliveries, self.engine, self.tables
            )
        except sa.exc.SQLAlchemyError:
            return web.json_response({"status": "database unavailable"}, status=503)
        status = "failing" if failing else "ok"
        return web.json_response(
            {"status": status, "pending": pending, "failing": failing},
            status=503 if failing else 200,
        )


async def serve(sender: AlertSender, port: int, host: str = "127.0.0.1") -> None:
    """Send alerts and answer /health until SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    app = web.Application()
    app.router.add_get("/health", sender.health)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    transports = ", ".join(sender.config.transports) or "none (staff inbox only)"
    logger.info("sending staff alerts by %s; health on http://%s:%d/health", transports, host, port)
    try:
        await sender.run(stop)  # a batch being sent is finished first
    finally:
        await runner.cleanup()
    logger.info("stopped")


def main(argv: Optional[list] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("ALERT_SENDER_PORT", 5056)),
        help="the health endpoint's port (ALERT_SENDER_PORT)",
    )
    # In a container, the orchestrator's health check comes from outside: 0.0.0.0 there.
    parser.add_argument(
        "--interface",
        default=os.environ.get("ALERT_SENDER_INTERFACE") or "127.0.0.1",
        help="the health endpoint's address (ALERT_SENDER_INTERFACE)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        config = load_alert_config()
        clinic_name = load_clinic_config().name
    except (AlertConfigError, ClinicConfigError) as error:
        sys.exit(f"The alert sender cannot start: {error}")
    url = tracker_store_url()
    engine = open_engine(url)
    tables = alert_store.alert_tables(schema_for(url))
    alert_store.create_alert_tables(engine, tables)  # the sender may start before the Rasa server
    asyncio.run(
        serve(
            AlertSender(engine, tables, config, clinic_name, sender_id_for_lease()),
            args.port,
            args.interface,
        )
    )


if __name__ == "__main__":
    main()
