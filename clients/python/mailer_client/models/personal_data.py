from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.personal_data_additional_property_item import PersonalDataAdditionalPropertyItem
    from ..models.personal_data_bounces_item import PersonalDataBouncesItem
    from ..models.personal_data_clicks_item import PersonalDataClicksItem
    from ..models.personal_data_complaints_item import PersonalDataComplaintsItem
    from ..models.personal_data_opens_item import PersonalDataOpensItem
    from ..models.personal_data_other_events_item import PersonalDataOtherEventsItem
    from ..models.personal_data_provider_payloads_item import PersonalDataProviderPayloadsItem
    from ..models.personal_data_sandbox_outbox_item import PersonalDataSandboxOutboxItem
    from ..models.personal_data_sends_item import PersonalDataSendsItem
    from ..models.personal_data_subscriptions_item import PersonalDataSubscriptionsItem
    from ..models.personal_data_suppressions_item import PersonalDataSuppressionsItem
    from ..models.personal_data_transactional_messages_item import PersonalDataTransactionalMessagesItem
    from ..models.personal_data_webhook_deliveries_item import PersonalDataWebhookDeliveriesItem


T = TypeVar("T", bound="PersonalData")


@_attrs_define
class PersonalData:
    """
    Attributes:
        email (str):
        exported_at (datetime.datetime):
        bounces (list[PersonalDataBouncesItem] | Unset):
        clicks (list[PersonalDataClicksItem] | Unset):
        complaints (list[PersonalDataComplaintsItem] | Unset):
        opens (list[PersonalDataOpensItem] | Unset):
        other_events (list[PersonalDataOtherEventsItem] | Unset):
        provider_payloads (list[PersonalDataProviderPayloadsItem] | Unset):
        sandbox_outbox (list[PersonalDataSandboxOutboxItem] | Unset):
        sends (list[PersonalDataSendsItem] | Unset):
        subscriptions (list[PersonalDataSubscriptionsItem] | Unset):
        suppressions (list[PersonalDataSuppressionsItem] | Unset):
        transactional_messages (list[PersonalDataTransactionalMessagesItem] | Unset):
        webhook_deliveries (list[PersonalDataWebhookDeliveriesItem] | Unset):
    """

    email: str
    exported_at: datetime.datetime
    bounces: list[PersonalDataBouncesItem] | Unset = UNSET
    clicks: list[PersonalDataClicksItem] | Unset = UNSET
    complaints: list[PersonalDataComplaintsItem] | Unset = UNSET
    opens: list[PersonalDataOpensItem] | Unset = UNSET
    other_events: list[PersonalDataOtherEventsItem] | Unset = UNSET
    provider_payloads: list[PersonalDataProviderPayloadsItem] | Unset = UNSET
    sandbox_outbox: list[PersonalDataSandboxOutboxItem] | Unset = UNSET
    sends: list[PersonalDataSendsItem] | Unset = UNSET
    subscriptions: list[PersonalDataSubscriptionsItem] | Unset = UNSET
    suppressions: list[PersonalDataSuppressionsItem] | Unset = UNSET
    transactional_messages: list[PersonalDataTransactionalMessagesItem] | Unset = UNSET
    webhook_deliveries: list[PersonalDataWebhookDeliveriesItem] | Unset = UNSET
    additional_properties: dict[str, list[PersonalDataAdditionalPropertyItem]] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        email = self.email

        exported_at = self.exported_at.isoformat()

        bounces: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.bounces, Unset):
            bounces = []
            for bounces_item_data in self.bounces:
                bounces_item = bounces_item_data.to_dict()
                bounces.append(bounces_item)

        clicks: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.clicks, Unset):
            clicks = []
            for clicks_item_data in self.clicks:
                clicks_item = clicks_item_data.to_dict()
                clicks.append(clicks_item)

        complaints: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.complaints, Unset):
            complaints = []
            for complaints_item_data in self.complaints:
                complaints_item = complaints_item_data.to_dict()
                complaints.append(complaints_item)

        opens: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.opens, Unset):
            opens = []
            for opens_item_data in self.opens:
                opens_item = opens_item_data.to_dict()
                opens.append(opens_item)

        other_events: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.other_events, Unset):
            other_events = []
            for other_events_item_data in self.other_events:
                other_events_item = other_events_item_data.to_dict()
                other_events.append(other_events_item)

        provider_payloads: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.provider_payloads, Unset):
            provider_payloads = []
            for provider_payloads_item_data in self.provider_payloads:
                provider_payloads_item = provider_payloads_item_data.to_dict()
                provider_payloads.append(provider_payloads_item)

        sandbox_outbox: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.sandbox_outbox, Unset):
            sandbox_outbox = []
            for sandbox_outbox_item_data in self.sandbox_outbox:
                sandbox_outbox_item = sandbox_outbox_item_data.to_dict()
                sandbox_outbox.append(sandbox_outbox_item)

        sends: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.sends, Unset):
            sends = []
            for sends_item_data in self.sends:
                sends_item = sends_item_data.to_dict()
                sends.append(sends_item)

        subscriptions: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.subscriptions, Unset):
            subscriptions = []
            for subscriptions_item_data in self.subscriptions:
                subscriptions_item = subscriptions_item_data.to_dict()
                subscriptions.append(subscriptions_item)

        suppressions: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.suppressions, Unset):
            suppressions = []
            for suppressions_item_data in self.suppressions:
                suppressions_item = suppressions_item_data.to_dict()
                suppressions.append(suppressions_item)

        transactional_messages: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.transactional_messages, Unset):
            transactional_messages = []
            for transactional_messages_item_data in self.transactional_messages:
                transactional_messages_item = transactional_messages_item_data.to_dict()
                transactional_messages.append(transactional_messages_item)

        webhook_deliveries: list[dict[str, Any]] | Unset = UNSET
        if not isinstance(self.webhook_deliveries, Unset):
            webhook_deliveries = []
            for webhook_deliveries_item_data in self.webhook_deliveries:
                webhook_deliveries_item = webhook_deliveries_item_data.to_dict()
                webhook_deliveries.append(webhook_deliveries_item)

        field_dict: dict[str, Any] = {}
        for prop_name, prop in self.additional_properties.items():
            field_dict[prop_name] = []
            for additional_property_item_data in prop:
                additional_property_item = additional_property_item_data.to_dict()
                field_dict[prop_name].append(additional_property_item)

        field_dict.update(
            {
                "email": email,
                "exported_at": exported_at,
            }
        )
        if bounces is not UNSET:
            field_dict["bounces"] = bounces
        if clicks is not UNSET:
            field_dict["clicks"] = clicks
        if complaints is not UNSET:
            field_dict["complaints"] = complaints
        if opens is not UNSET:
            field_dict["opens"] = opens
        if other_events is not UNSET:
            field_dict["other_events"] = other_events
        if provider_payloads is not UNSET:
            field_dict["provider_payloads"] = provider_payloads
        if sandbox_outbox is not UNSET:
            field_dict["sandbox_outbox"] = sandbox_outbox
        if sends is not UNSET:
            field_dict["sends"] = sends
        if subscriptions is not UNSET:
            field_dict["subscriptions"] = subscriptions
        if suppressions is not UNSET:
            field_dict["suppressions"] = suppressions
        if transactional_messages is not UNSET:
            field_dict["transactional_messages"] = transactional_messages
        if webhook_deliveries is not UNSET:
            field_dict["webhook_deliveries"] = webhook_deliveries

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.personal_data_additional_property_item import PersonalDataAdditionalPropertyItem  # noqa: PLC0415
        from ..models.personal_data_bounces_item import PersonalDataBouncesItem  # noqa: PLC0415
        from ..models.personal_data_clicks_item import PersonalDataClicksItem  # noqa: PLC0415
        from ..models.personal_data_complaints_item import PersonalDataComplaintsItem  # noqa: PLC0415
        from ..models.personal_data_opens_item import PersonalDataOpensItem  # noqa: PLC0415
        from ..models.personal_data_other_events_item import PersonalDataOtherEventsItem  # noqa: PLC0415
        from ..models.personal_data_provider_payloads_item import PersonalDataProviderPayloadsItem  # noqa: PLC0415
        from ..models.personal_data_sandbox_outbox_item import PersonalDataSandboxOutboxItem  # noqa: PLC0415
        from ..models.personal_data_sends_item import PersonalDataSendsItem  # noqa: PLC0415
        from ..models.personal_data_subscriptions_item import PersonalDataSubscriptionsItem  # noqa: PLC0415
        from ..models.personal_data_suppressions_item import PersonalDataSuppressionsItem  # noqa: PLC0415
        from ..models.personal_data_transactional_messages_item import PersonalDataTransactionalMessagesItem  # noqa: PLC0415
        from ..models.personal_data_webhook_deliveries_item import PersonalDataWebhookDeliveriesItem  # noqa: PLC0415

        d = dict(src_dict)
        email = d.pop("email")

        exported_at = datetime.datetime.fromisoformat(d.pop("exported_at"))

        _bounces = d.pop("bounces", UNSET)
        bounces: list[PersonalDataBouncesItem] | Unset = UNSET
        if _bounces is not UNSET:
            bounces = []
            for bounces_item_data in _bounces:
                bounces_item = PersonalDataBouncesItem.from_dict(bounces_item_data)

                bounces.append(bounces_item)

        _clicks = d.pop("clicks", UNSET)
        clicks: list[PersonalDataClicksItem] | Unset = UNSET
        if _clicks is not UNSET:
            clicks = []
            for clicks_item_data in _clicks:
                clicks_item = PersonalDataClicksItem.from_dict(clicks_item_data)

                clicks.append(clicks_item)

        _complaints = d.pop("complaints", UNSET)
        complaints: list[PersonalDataComplaintsItem] | Unset = UNSET
        if _complaints is not UNSET:
            complaints = []
            for complaints_item_data in _complaints:
                complaints_item = PersonalDataComplaintsItem.from_dict(complaints_item_data)

                complaints.append(complaints_item)

        _opens = d.pop("opens", UNSET)
        opens: list[PersonalDataOpensItem] | Unset = UNSET
        if _opens is not UNSET:
            opens = []
            for opens_item_data in _opens:
                opens_item = PersonalDataOpensItem.from_dict(opens_item_data)

                opens.append(opens_item)

        _other_events = d.pop("other_events", UNSET)
        other_events: list[PersonalDataOtherEventsItem] | Unset = UNSET
        if _other_events is not UNSET:
            other_events = []
            for other_events_item_data in _other_events:
                other_events_item = PersonalDataOtherEventsItem.from_dict(other_events_item_data)

                other_events.append(other_events_item)

        _provider_payloads = d.pop("provider_payloads", UNSET)
        provider_payloads: list[PersonalDataProviderPayloadsItem] | Unset = UNSET
        if _provider_payloads is not UNSET:
            provider_payloads = []
            for provider_payloads_item_data in _provider_payloads:
                provider_payloads_item = PersonalDataProviderPayloadsItem.from_dict(provider_payloads_item_data)

                provider_payloads.append(provider_payloads_item)

        _sandbox_outbox = d.pop("sandbox_outbox", UNSET)
        sandbox_outbox: list[PersonalDataSandboxOutboxItem] | Unset = UNSET
        if _sandbox_outbox is not UNSET:
            sandbox_outbox = []
            for sandbox_outbox_item_data in _sandbox_outbox:
                sandbox_outbox_item = PersonalDataSandboxOutboxItem.from_dict(sandbox_outbox_item_data)

                sandbox_outbox.append(sandbox_outbox_item)

        _sends = d.pop("sends", UNSET)
        sends: list[PersonalDataSendsItem] | Unset = UNSET
        if _sends is not UNSET:
            sends = []
            for sends_item_data in _sends:
                sends_item = PersonalDataSendsItem.from_dict(sends_item_data)

                sends.append(sends_item)

        _subscriptions = d.pop("subscriptions", UNSET)
        subscriptions: list[PersonalDataSubscriptionsItem] | Unset = UNSET
        if _subscriptions is not UNSET:
            subscriptions = []
            for subscriptions_item_data in _subscriptions:
                subscriptions_item = PersonalDataSubscriptionsItem.from_dict(subscriptions_item_data)

                subscriptions.append(subscriptions_item)

        _suppressions = d.pop("suppressions", UNSET)
        suppressions: list[PersonalDataSuppressionsItem] | Unset = UNSET
        if _suppressions is not UNSET:
            suppressions = []
            for suppressions_item_data in _suppressions:
                suppressions_item = PersonalDataSuppressionsItem.from_dict(suppressions_item_data)

                suppressions.append(suppressions_item)

        _transactional_messages = d.pop("transactional_messages", UNSET)
        transactional_messages: list[PersonalDataTransactionalMessagesItem] | Unset = UNSET
        if _transactional_messages is not UNSET:
            transactional_messages = []
            for transactional_messages_item_data in _transactional_messages:
                transactional_messages_item = PersonalDataTransactionalMessagesItem.from_dict(
                    transactional_messages_item_data
                )

                transactional_messages.append(transactional_messages_item)

        _webhook_deliveries = d.pop("webhook_deliveries", UNSET)
        webhook_deliveries: list[PersonalDataWebhookDeliveriesItem] | Unset = UNSET
        if _webhook_deliveries is not UNSET:
            webhook_deliveries = []
            for webhook_deliveries_item_data in _webhook_deliveries:
                webhook_deliveries_item = PersonalDataWebhookDeliveriesItem.from_dict(webhook_deliveries_item_data)

                webhook_deliveries.append(webhook_deliveries_item)

        personal_data = cls(
            email=email,
            exported_at=exported_at,
            bounces=bounces,
            clicks=clicks,
            complaints=complaints,
            opens=opens,
            other_events=other_events,
            provider_payloads=provider_payloads,
            sandbox_outbox=sandbox_outbox,
            sends=sends,
            subscriptions=subscriptions,
            suppressions=suppressions,
            transactional_messages=transactional_messages,
            webhook_deliveries=webhook_deliveries,
        )

        additional_properties = {}
        for prop_name, prop_dict in d.items():
            additional_property = []
            _additional_property = prop_dict
            for additional_property_item_data in _additional_property:
                additional_property_item = PersonalDataAdditionalPropertyItem.from_dict(additional_property_item_data)

                additional_property.append(additional_property_item)

            additional_properties[prop_name] = additional_property

        personal_data.additional_properties = additional_properties
        return personal_data

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> list[PersonalDataAdditionalPropertyItem]:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: list[PersonalDataAdditionalPropertyItem]) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
