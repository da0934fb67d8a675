"""What the chain spent on ads, day by day: cost rows as the platforms' exports give
them (``POST /v1/costs``, ``carepath costs import``).

Baidu rows are per keyword (``utm_term``), Dianping's and Douyin's per campaign; a
campaign's clicks follow the new customers it brings (about one click in ten becomes a
customer), so cost per new customer stays plausible at any population size. No row of
one campaign is both per keyword and per campaign: costs match on the dimensions a row
names, and such a pair would count the spend twice.
"""

from __future__ import annotations

from decimal import Decimal
from random import Random

from cli.demo.calendar import HISTORY_DAYS, Calendar
from cli.demo.chain import CAMPAIGNS, Campaign
from cli.demo.people import CHANNELS, PARENT_SHARE, Persona
from engine.models.events import Cost

__all__ = ["daily_costs"]

#: Of the clicks on an ad, those that become a customer.
_CLICK_TO_CUSTOMER = 0.1
_CENT = Decimal("0.01")


def _web_share(campaign: Campaign) -> float:
    """Of all customers, those who arrive through ``campaign``."""
    audience: Persona = "parent" if campaign.audience == "parent" else "adult"
    persona = PARENT_SHARE if audience == "parent" else 1 - PARENT_SHARE
    channels, weights = CHANNELS[audience]
    web = weights[channels.index("web")] / sum(weights)
    rivals = sum(c.share for c in CAMPAIGNS if c.audience == campaign.audience)
    return persona * web * campaign.share / rivals


def daily_costs(seed: int, customers: int, calendar: Calendar) -> list[Cost]:
    """One row per campaign (per keyword for Baidu) and day of the history."""
    rng = Random(f"{seed}:costs")
    total = calendar.cumulative[-1]
    rows: list[Cost] = []
    for day in range(HISTORY_DAYS):
        weight = (calendar.cumulative[day + 1] - calendar.cumulative[day]) / total
        for campaign in CAMPAIGNS:
            expected = customers * _web_share(campaign) * weight
            terms: tuple[str | None, ...] = (
                campaign.terms if campaign.utm_source == "baidu" else (None,)
            )
            for term in terms:
                rows.append(_row(rng, calendar, day, campaign, term, expected / len(terms)))
    return rows


def _row(
    rng: Random, calendar: Calendar, day: int, campaign: Campaign, term: str | None, new: float
) -> Cost:
    clicks = max(1, round(new / _CLICK_TO_CUSTOMER * rng.uniform(0.8, 1.2)))
    impressions = round(clicks / campaign.ctr * rng.uniform(0.85, 1.15))
    cpc = campaign.cpc * Decimal(str(round(rng.uniform(0.85, 1.15), 3)))
    return Cost(
        date=calendar.date_of(day),
        amount=(cpc * clicks).quantize(_CENT),
        utm_source=campaign.utm_source,
        utm_medium=campaign.utm_medium,
        utm_campaign=campaign.utm_campaign,
        utm_term=term,
        impressions=impressions,
        clicks=clicks,
    )
