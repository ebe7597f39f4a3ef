"""Contains all the data models used in inputs/outputs"""

from .address_out import AddressOut
from .attachment_in import AttachmentIn
from .campaign import Campaign
from .campaign_channel_rule import CampaignChannelRule
from .campaign_channels_item import CampaignChannelsItem
from .campaign_channels_item_sender import CampaignChannelsItemSender
from .campaign_document import CampaignDocument
from .campaign_id_name_type_0 import CampaignIdNameType0
from .campaign_interactions import CampaignInteractions
from .campaign_page import CampaignPage
from .campaign_recipient import CampaignRecipient
from .campaign_recipient_fields import CampaignRecipientFields
from .campaign_segment import CampaignSegment
from .campaign_segments_item import CampaignSegmentsItem
from .campaign_stats import CampaignStats
from .campaign_stats_rates import CampaignStatsRates
from .campaign_status import CampaignStatus
from .campaign_update import CampaignUpdate
from .client_campaign_document import ClientCampaignDocument
from .client_campaign_recipient import ClientCampaignRecipient
from .client_campaign_segment import ClientCampaignSegment
from .contact_import import ContactImport
from .contact_import_format_type_1 import ContactImportFormatType1
from .contact_import_format_type_2_type_1 import ContactImportFormatType2Type1
from .contact_import_format_type_3_type_1 import ContactImportFormatType3Type1
from .contact_import_links import ContactImportLinks
from .contact_import_mode import ContactImportMode
from .contact_import_status import ContactImportStatus
from .custom_headers import CustomHeaders
from .erasure import Erasure
from .erasure_records import ErasureRecords
from .error import Error
from .error_error import ErrorError
from .error_error_details import ErrorErrorDetails
from .error_error_details_fields_item import ErrorErrorDetailsFieldsItem
from .event_type import EventType
from .failed_message import FailedMessage
from .failed_message_page import FailedMessagePage
from .failed_message_retry import FailedMessageRetry
from .failed_send import FailedSend
from .failed_send_page import FailedSendPage
from .failed_send_retry import FailedSendRetry
from .failed_state import FailedState
from .failure_reason import FailureReason
from .get_open_api_response_200 import GetOpenApiResponse200
from .import_upload import ImportUpload
from .import_upload_format import ImportUploadFormat
from .import_upload_mode import ImportUploadMode
from .list_input import ListInput
from .list_messages_response_200 import ListMessagesResponse200
from .list_messages_status import ListMessagesStatus
from .list_patch import ListPatch
from .mailing_list import MailingList
from .mailing_list_page import MailingListPage
from .message import Message
from .message_attachments_item import MessageAttachmentsItem
from .message_batch_in import MessageBatchIn
from .message_batch_queued import MessageBatchQueued
from .message_batch_queued_results_item import MessageBatchQueuedResultsItem
from .message_batch_queued_results_item_error import MessageBatchQueuedResultsItemError
from .message_batch_queued_results_item_status import MessageBatchQueuedResultsItemStatus
from .message_delivery_status import MessageDeliveryStatus
from .message_headers import MessageHeaders
from .message_in import MessageIn
from .message_in_metadata import MessageInMetadata
from .message_in_variables import MessageInVariables
from .message_metadata import MessageMetadata
from .message_queued import MessageQueued
from .message_queued_status import MessageQueuedStatus
from .message_recipients import MessageRecipients
from .message_status import MessageStatus
from .message_with_events import MessageWithEvents
from .message_with_events_events_item import MessageWithEventsEventsItem
from .message_with_events_events_item_data import MessageWithEventsEventsItemData
from .named_address import NamedAddress
from .page import Page
from .person_ref import PersonRef
from .personal_data import PersonalData
from .personal_data_additional_property_item import PersonalDataAdditionalPropertyItem
from .personal_data_bounces_item import PersonalDataBouncesItem
from .personal_data_clicks_item import PersonalDataClicksItem
from .personal_data_complaints_item import PersonalDataComplaintsItem
from .personal_data_opens_item import PersonalDataOpensItem
from .personal_data_other_events_item import PersonalDataOtherEventsItem
from .personal_data_provider_payloads_item import PersonalDataProviderPayloadsItem
from .personal_data_sandbox_outbox_item import PersonalDataSandboxOutboxItem
from .personal_data_sends_item import PersonalDataSendsItem
from .personal_data_subscriptions_item import PersonalDataSubscriptionsItem
from .personal_data_suppressions_item import PersonalDataSuppressionsItem
from .personal_data_transactional_messages_item import PersonalDataTransactionalMessagesItem
from .personal_data_webhook_deliveries_item import PersonalDataWebhookDeliveriesItem
from .retry_one import RetryOne
from .retry_result import RetryResult
from .subscriber import Subscriber
from .subscriber_attributes import SubscriberAttributes
from .subscriber_counts import SubscriberCounts
from .subscriber_input import SubscriberInput
from .subscriber_input_attributes import SubscriberInputAttributes
from .subscriber_page import SubscriberPage
from .subscriber_patch import SubscriberPatch
from .subscriber_patch_attributes import SubscriberPatchAttributes
from .subscriber_status import SubscriberStatus
from .suppression import Suppression
from .suppression_input import SuppressionInput
from .suppression_input_reason import SuppressionInputReason
from .suppression_page import SuppressionPage
from .suppression_reason import SuppressionReason
from .template import Template
from .template_editor import TemplateEditor
from .template_input import TemplateInput
from .template_page import TemplatePage
from .tracked_event import TrackedEvent
from .tracked_event_data import TrackedEventData
from .tracked_event_page import TrackedEventPage
from .webhook_delivery import WebhookDelivery
from .webhook_delivery_page import WebhookDeliveryPage
from .webhook_delivery_payload import WebhookDeliveryPayload
from .webhook_delivery_status import WebhookDeliveryStatus
from .webhook_endpoint import WebhookEndpoint
from .webhook_endpoint_input import WebhookEndpointInput
from .webhook_endpoint_page import WebhookEndpointPage
from .webhook_endpoint_with_secret import WebhookEndpointWithSecret
from .webhook_event import WebhookEvent
from .webhook_event_data import WebhookEventData
from .webhook_event_data_bounce import WebhookEventDataBounce
from .webhook_event_metadata import WebhookEventMetadata
from .webhook_event_type import WebhookEventType
from .webhook_event_webhook_event_kind import WebhookEventWebhookEventKind

__all__ = (
    "AddressOut",
    "AttachmentIn",
    "Campaign",
    "CampaignChannelRule",
    "CampaignChannelsItem",
    "CampaignChannelsItemSender",
    "CampaignDocument",
    "CampaignIdNameType0",
    "CampaignInteractions",
    "CampaignPage",
    "CampaignRecipient",
    "CampaignRecipientFields",
    "CampaignSegment",
    "CampaignSegmentsItem",
    "CampaignStats",
    "CampaignStatsRates",
    "CampaignStatus",
    "CampaignUpdate",
    "ClientCampaignDocument",
    "ClientCampaignRecipient",
    "ClientCampaignSegment",
    "ContactImport",
    "ContactImportFormatType1",
    "ContactImportFormatType2Type1",
    "ContactImportFormatType3Type1",
    "ContactImportLinks",
    "ContactImportMode",
    "ContactImportStatus",
    "CustomHeaders",
    "Erasure",
    "ErasureRecords",
    "Error",
    "ErrorError",
    "ErrorErrorDetails",
    "ErrorErrorDetailsFieldsItem",
    "EventType",
    "FailedMessage",
    "FailedMessagePage",
    "FailedMessageRetry",
    "FailedSend",
    "FailedSendPage",
    "FailedSendRetry",
    "FailedState",
    "FailureReason",
    "GetOpenApiResponse200",
    "ImportUpload",
    "ImportUploadFormat",
    "ImportUploadMode",
    "ListInput",
    "ListMessagesResponse200",
    "ListMessagesStatus",
    "ListPatch",
    "MailingList",
    "MailingListPage",
    "Message",
    "MessageAttachmentsItem",
    "MessageBatchIn",
    "MessageBatchQueued",
    "MessageBatchQueuedResultsItem",
    "MessageBatchQueuedResultsItemError",
    "MessageBatchQueuedResultsItemStatus",
    "MessageDeliveryStatus",
    "MessageHeaders",
    "MessageIn",
    "MessageInMetadata",
    "MessageInVariables",
    "MessageMetadata",
    "MessageQueued",
    "MessageQueuedStatus",
    "MessageRecipients",
    "MessageStatus",
    "MessageWithEvents",
    "MessageWithEventsEventsItem",
    "MessageWithEventsEventsItemData",
    "NamedAddress",
    "Page",
    "PersonalData",
    "PersonalDataAdditionalPropertyItem",
    "PersonalDataBouncesItem",
    "PersonalDataClicksItem",
    "PersonalDataComplaintsItem",
    "PersonalDataOpensItem",
    "PersonalDataOtherEventsItem",
    "PersonalDataProviderPayloadsItem",
    "PersonalDataSandboxOutboxItem",
    "PersonalDataSendsItem",
    "PersonalDataSubscriptionsItem",
    "PersonalDataSuppressionsItem",
    "PersonalDataTransactionalMessagesItem",
    "PersonalDataWebhookDeliveriesItem",
    "PersonRef",
    "RetryOne",
    "RetryResult",
    "Subscriber",
    "SubscriberAttributes",
    "SubscriberCounts",
    "SubscriberInput",
    "SubscriberInputAttributes",
    "SubscriberPage",
    "SubscriberPatch",
    "SubscriberPatchAttributes",
    "SubscriberStatus",
    "Suppression",
    "SuppressionInput",
    "SuppressionInputReason",
    "SuppressionPage",
    "SuppressionReason",
    "Template",
    "TemplateEditor",
    "TemplateInput",
    "TemplatePage",
    "TrackedEvent",
    "TrackedEventData",
    "TrackedEventPage",
    "WebhookDelivery",
    "WebhookDeliveryPage",
    "WebhookDeliveryPayload",
    "WebhookDeliveryStatus",
    "WebhookEndpoint",
    "WebhookEndpointInput",
    "WebhookEndpointPage",
    "WebhookEndpointWithSecret",
    "WebhookEvent",
    "WebhookEventData",
    "WebhookEventDataBounce",
    "WebhookEventMetadata",
    "WebhookEventType",
    "WebhookEventWebhookEventKind",
)
