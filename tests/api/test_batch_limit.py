"""A batch over the limit is refused with one short error naming the limit, not a message
repeating every item."""

from __future__ import annotations


def test_a_batch_over_500_names_the_limit(api, channel):
    item = {"to": "jane@example.com", "subject": "Hi", "text": "Hello " * 20}
    answer = api.post("/api/v1/messages", json={"messages": [item] * 501})
    assert answer.status_code == 422
    (problem,) = answer.json["error"]["details"]["fields"]
    assert problem == {"path": "$.messages", "message": "At most 500 messages per request."}
    assert len(answer.get_data()) < 1000, "the items are not repeated back"
