"""`flask campaigns …`: operate campaigns from the command line."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

campaigns_cli = AppGroup("campaigns", help="Launch, pause, resume, cancel, inspect campaigns.")


def _load(campaign_id: int):
    from mailer.extensions import db
    from mailer.models import Campaign

    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        raise click.ClickException(f"campaign {campaign_id} does not exist")
    return campaign


def _act(action: str, campaign_id: int) -> None:
    from mailer.campaigns import lifecycle
    from mailer.lib.errors import NotAllowed

    campaign = _load(campaign_id)
    try:
        getattr(lifecycle, action)(campaign)
    except NotAllowed as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"campaign {campaign.id}: {campaign.status}")


@campaigns_cli.command("launch")
@click.argument("campaign_id", type=int)
def launch_command(campaign_id: int) -> None:
    """Schedule for now (a draft or scheduled campaign) and start the orchestrator job."""
    from mailer.campaigns import launch, lifecycle
    from mailer.lib.errors import NotAllowed
    from mailer.models import CampaignStatus

    campaign = _load(campaign_id)
    try:
        if campaign.status == CampaignStatus.SCHEDULED.value:
            launch.enqueue_launch(campaign)
        else:
            lifecycle.schedule(campaign, None)
    except NotAllowed as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"campaign {campaign.id}: launch queued")


@campaigns_cli.command("pause")
@click.argument("campaign_id", type=int)
def pause(campaign_id: int) -> None:
    _act("pause", campaign_id)


@campaigns_cli.command("resume")
@click.argument("campaign_id", type=int)
def resume(campaign_id: int) -> None:
    _act("resume", campaign_id)


@campaigns_cli.command("cancel")
@click.argument("campaign_id", type=int)
def cancel(campaign_id: int) -> None:
    _act("cancel", campaign_id)


@campaigns_cli.command("status")
@click.argument("campaign_id", type=int)
def status(campaign_id: int) -> None:
    """Counters as JSON."""
    from mailer.campaigns import stats

    campaign = _load(campaign_id)
    click.echo(
        json.dumps(
            {
                "id": campaign.id,
                "name": campaign.name,
                "status": campaign.status,
                "audience": campaign.audience_size,
                "excluded": campaign.excluded_count,
                "sends": stats.status_counts(campaign.id),
            }
        )
    )
