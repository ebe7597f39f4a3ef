"""What a channel row's loop writes on the row for people (why it waits, why it paused):
English templates marked for translation, stored filled in, shown translated
(``lib.i18n.translate_stored``)."""

from mailer.lib.i18n import N_

WRITING = N_("the launch is still writing the audience")
STARTS_AT = N_("starts at %(when)s UTC")
RETRYING_AT = N_("retrying failed sends at %(when)s UTC")
DAILY_MAX = N_("daily maximum reached until %(when)s")
PAUSED_AFTER = N_("Paused after %(count)s failed sends in a row: %(error)s")

LAUNCH_FAILED = N_("Launch failed: %(error)s")

ALL = (WRITING, STARTS_AT, RETRYING_AT, DAILY_MAX, PAUSED_AFTER, LAUNCH_FAILED)
