"""Why an import stopped or a file was refused, in words for the person importing.

Each message is an English template (``%`` with named values) marked for translation. An
import stores the filled-in English (programs and the API read it); a page shows it in its
reader's language through ``lib.i18n.translate_stored``."""

from __future__ import annotations

from mailer.lib.i18n import N_

EMPTY = N_("the file is empty")
ZIP = N_("this is a ZIP or Excel (.xlsx) file; export the sheet as CSV (UTF-8)")
GZIP = N_("this is a gzip file; decompress it first")
XLS = N_("this is an old Excel (.xls) file; export the sheet as CSV (UTF-8)")
UTF16 = N_("the file is UTF-16; save it as UTF-8")
NOT_TEXT = N_(
    "this is not a text file (it may be a spreadsheet, a PDF or an image); upload a CSV, "
    "JSON or NDJSON file saved as UTF-8 text"
)
BLANK_START = N_("the file starts with over %(limit)s bytes of blank space")
NO_EMAIL = N_("no email field; fields found: %(fields)s")
HEADER_ONLY = N_("no contacts in file: only a header row")
CSV_RECORD_TOO_LONG = N_(
    "line %(line)s: CSV record longer than %(limit)s characters (an unterminated quote?)"
)
CSV_CELLS = N_(
    "line %(line)s: %(cells)s cells but the header has %(width)s; a value probably contains "
    "an unquoted %(delimiter)s"
)
CSV_BROKEN = N_("line %(line)s: broken CSV row: %(reason)s")
JSON_INVALID = N_("line %(line)s: invalid JSON (%(reason)s)")
JSON_MALFORMED = N_("item %(item)s: malformed JSON (%(reason)s)")
JSON_TOO_NESTED = N_(
    "item %(item)s nests too deeply or holds too many objects and arrays (over %(limit)s)"
)
JSON_ITEM_TOO_LARGE = N_("item %(item)s is larger than %(limit)s bytes")
JSON_NO_OBJECT_ITEMS = N_(
    "the first %(count)s items hold no JSON object; expected one object per contact"
)
JSON_NO_OBJECT_LINES = N_(
    "the first %(count)s lines hold no JSON object; expected one object per contact"
)
NO_CONTACTS = N_("no contacts in file")
NO_JSON_OBJECT = N_("no contacts in file: no JSON object found")
JSON_SURROGATE = N_(
    "item %(item)s: a \\u escape is a lone UTF-16 surrogate (such as \\ud800 without its "
    "pair), which is not a character; fix or remove it"
)
JSON_NOT_A_LIST = N_(
    'the JSON file is an object without an array of contacts; expected [{"email": …}, …] '
    'or {"contacts": [{"email": …}, …]}'
)
NOT_UTF8 = N_(
    "not UTF-8: byte 0x%(byte)s at line %(line)s (byte offset %(offset)s); save the file as UTF-8"
)
NOT_UTF8_ITEM = N_(
    "not UTF-8: byte 0x%(byte)s at line %(line)s (byte offset %(offset)s, item %(item)s); "
    "save the file as UTF-8"
)
LINE_TOO_LONG = N_("line %(line)s is longer than %(limit)s bytes")
FILE_CHANGED = N_("The file changed since the import started.")
INTERNAL = N_(
    "Mailer ran into a problem of its own, not one in your file (%(detail)s). Try the import "
    "again; if it happens again, tell your administrator."
)
FILE_GONE = N_("The import stopped after %(rows)s rows and cannot resume: its file is gone.")
TOO_MANY_RUNS = N_(
    "The import stopped after %(rows)s rows: it was interrupted %(attempts)s times without "
    "finishing, so it is not started again. Import the file again to add the rest."
)
CHOOSE_MODE = N_("Choose one of: %(choices)s.")
CHOOSE_FORMAT = N_("Choose one of: %(choices)s, or leave it to detection.")
CHOOSE_LIST = N_("Choose a list to import into.")
ALREADY_STARTED = N_("This import has already started.")
NEVER_MAPPED = N_("The file waited too long for its columns to be matched and was deleted.")

ALL = tuple(v for k, v in list(globals().items()) if k.isupper() and isinstance(v, str))
# Issue 20: a row refused because its person asked to be erased (the address is not kept).
ERASED = N_("this person's data was erased at their request; only their own signup adds them back")
