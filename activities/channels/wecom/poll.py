"""Results that no platform pushes: WeCom external-contact messages.

``add_msg_template`` only queues a message until the staff member confirms it in the
WeCom app, and WeCom sends no receipt. The background workflow
(``workflows.background``) calls this every 30 seconds or so: it reads
``get_groupmsg_send_result`` for accepted WeCom sends of the last days that have no
result yet, and hands each result to the waiting enrollment as a receipt: sent
(delivered), or not a friend / receive limit (failed: the step falls back). A send
the staff member never confirms stays without a result, and the step's
``receipt_timeout`` moves on.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from activities.channels.wecom.client import WeComClient
from activities.channels.wecom.send import SEND_STATUS, send_result
from engine.contracts.journey import ReceiptSignal
from engine.dispatch.dispatcher import Dispatcher
from engine.errors import NotFound
from engine.store.service_store import ServiceStore

LOOK_BACK = timedelta(days=3)  # a task unconfirmed this long is left to receipt_timeout
log = logging.getLogger("carepath.pollers")


async def wecom_results_once(
    store: ServiceStore, dispatcher: Dispatcher, client: WeComClient, now: datetime
) -> int:
    """One round; how many results were handed to enrollments."""
    pending = await asyncio.to_thread(store.awaiting_results, "wecom", now - LOOK_BACK)
    handed = 0
    for delivery in pending:
        if delivery.provider_ref is None or delivery.customer_id is None:
            continue
        try:
            customer = await asyncio.to_thread(store.get_customer, delivery.customer_id)
        except NotFound:
            continue
        sender = customer.identities.get("wecom_owner_userid")
        external = customer.identities.get("wecom_external_userid")
        if not sender or not external:
            continue
        status = await asyncio.to_thread(
            send_result, client, delivery.provider_ref, sender, external
        )
        if status not in SEND_STATUS:
            continue  # not confirmed yet: ask again next round
        delivered, detail = SEND_STATUS[status]
        signal = ReceiptSignal(
            provider_ref=delivery.provider_ref, channel="wecom", delivered=delivered, detail=detail
        )
        await dispatcher.receipt(delivery.enrollment_id, signal)
        await asyncio.to_thread(store.result_known, delivery.key, now)
        handed += 1
    return handed
