"""Sender identities: who emails come from."""

from __future__ import annotations

from mailer.models import Campaign, CampaignChannel, Channel, Identity, Role


def _add(client, **fields):
    data = {
        "name": "Newsletter",
        "from_email": "News@Example.com ",
        "from_name": "Example News",
        "reply_to": "",
    }
    data.update(fields)
    return client.post("/senders/", data=data)


def test_add_list_and_edit_a_sender(client, db, as_role):
    as_role(Role.MARKETER)
    response = _add(client)
    assert response.status_code == 200
    assert "Sender “Newsletter” added." in response.get_data(as_text=True)
    identity = db.session.scalars(db.select(Identity)).one()
    assert (identity.from_email, identity.from_name, identity.reply_to) == (
        "news@example.com",
        "Example News",
        None,
    )
    listing = client.get("/senders/").get_data(as_text=True)
    assert "Example News &lt;news@example.com&gt;" in listing

    edit = client.get(f"/senders/{identity.id}")
    assert edit.status_code == 200 and 'value="news@example.com"' in edit.get_data(as_text=True)
    saved = client.post(
        f"/senders/{identity.id}",
        data={
            "name": "Newsletter",
            "from_email": "news@example.com",
            "from_name": "",
            "reply_to": "help@example.com",
        },
    )
    assert saved.status_code == 302
    db.session.refresh(identity)
    assert (identity.from_name, identity.reply_to) == ("", "help@example.com")


def test_invalid_addresses_and_duplicate_names_are_refused_next_to_the_field(client, db, as_role):
    as_role(Role.MARKETER)
    bad = _add(client, name="", from_email="not-an-address", reply_to="also bad@x")
    assert bad.status_code == 422
    page = bad.get_data(as_text=True)
    assert 'id="name-error">Give the sender a name' in page
    assert 'id="from_email-error">Enter a valid email address' in page
    assert 'id="reply_to-error">Enter a valid email address or leave it empty' in page
    assert 'value="not-an-address"' in page  # the form keeps what was typed

    _add(client)
    dup = _add(client, from_email="other@example.com")
    assert dup.status_code == 422
    assert "Another sender already has this name." in dup.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(Identity)) == 1

    identity = db.session.scalars(db.select(Identity)).one()
    edit = client.post(f"/senders/{identity.id}", data={"name": "Newsletter", "from_email": "nope"})
    assert edit.status_code == 422
    assert "Enter a valid email address" in edit.get_data(as_text=True)
    db.session.refresh(identity)
    assert identity.from_email == "news@example.com"


def test_a_sender_used_by_a_campaign_cannot_be_deleted(client, db, as_role):
    as_role(Role.MARKETER)
    _add(client)
    _add(client, name="Spare", from_email="spare@example.com")
    used = db.session.scalars(db.select(Identity).filter_by(name="Newsletter")).one()
    spare = db.session.scalars(db.select(Identity).filter_by(name="Spare")).one()
    channel = Channel(name="SMTP", provider="smtp", settings={})
    campaign = Campaign(name="Spring", subject="Hi")
    db.session.add_all([channel, campaign])
    db.session.flush()
    db.session.add(
        CampaignChannel(campaign_id=campaign.id, channel_id=channel.id, identity_id=used.id)
    )
    db.session.commit()

    refused = client.post(f"/senders/{used.id}/delete")
    assert refused.status_code == 302
    page = client.get("/senders/").get_data(as_text=True)
    assert "“Newsletter” is the sender of 1 campaign." in page
    assert db.session.get(Identity, used.id) is not None

    client.post(f"/senders/{spare.id}/delete")
    db.session.expire_all()
    assert db.session.get(Identity, spare.id) is None


def test_viewers_see_senders_but_cannot_change_them(client, db, as_role):
    db.session.add(Identity(name="Team", from_email="team@example.com"))
    db.session.commit()
    as_role(Role.VIEWER)
    page = client.get("/senders/").get_data(as_text=True)
    assert "team@example.com" in page and "Add a sender" not in page
    assert _add(client).status_code == 403


def test_viewers_do_not_get_edit_forms(client, db, as_role):
    db.session.add(Identity(name="Team", from_email="team@example.com"))
    db.session.commit()
    identity = db.session.scalars(db.select(Identity)).one()
    as_role(Role.VIEWER)
    assert client.get(f"/senders/{identity.id}").status_code == 403
    assert client.get("/templates/new").status_code == 403
