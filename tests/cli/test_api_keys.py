"""`flask api-keys create`: a key for scripts, printed once, that works at once with exactly
its scopes and rate; bad input is refused in plain words and creates nothing."""

from __future__ import annotations

from mailer.models import ApiKey
from mailer.services import api_keys


def test_a_key_made_on_the_command_line_works_with_its_scopes_and_rate(runner, client, db):
    result = runner.invoke(
        args=["api-keys", "create", "Billing sync", "--scopes", "send, read", "--rate", "120"]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    plaintext = lines[-1]
    assert plaintext.startswith("mk_") and result.output.count(plaintext) == 1
    assert lines[0] == f'Created the API key "Billing sync" (prefix {plaintext[:11]}).'
    assert "Scopes: read, send." in lines and "Rate limit: 120 requests a minute." in lines
    assert "shown only this once" in result.output

    key = db.session.scalar(db.select(ApiKey))
    assert (key.name, key.scopes, key.rate_limit_per_minute) == (
        "Billing sync",
        ["read", "send"],
        120,
    )
    assert key.key_hash == api_keys.hash_key(plaintext) and plaintext not in repr(vars(key))

    auth = {"Authorization": f"Bearer {plaintext}"}
    answer = client.get("/api/v1/lists", headers=auth)
    assert answer.status_code == 200 and answer.headers["RateLimit-Limit"] == "120"
    assert client.post("/api/v1/lists", json={"name": "x"}, headers=auth).status_code == 403


def test_quiet_prints_only_the_key_and_the_default_rate_is_said(runner, app, db):
    quiet = runner.invoke(args=["api-keys", "create", "ci", "--scopes", "admin", "-q"])
    assert quiet.exit_code == 0 and quiet.output.strip().startswith("mk_")
    assert len(quiet.output.splitlines()) == 1
    loud = runner.invoke(args=["api-keys", "create", "ops", "--scopes", "campaigns"])
    default = app.config["MAILER_API_RATE_LIMIT"]
    assert f"Rate limit: the server's default, {default:,} requests a minute." in loud.output
    assert db.session.scalar(db.select(db.func.count()).select_from(ApiKey)) == 2


def test_bad_input_is_refused_in_plain_words_and_creates_nothing(runner, db):
    cases = {
        ("x", "--scopes", "send,everything"): "Unknown scope: everything. Use: send, campaigns",
        ("x", "--scopes", " , "): "Choose at least one scope.",
        ("   ", "--scopes", "read"): "Give the key a name",
        ("x", "--scopes", "read", "--rate", "0"): "from 1 to",
        ("x", "--scopes", "read", "--rate", "many"): "is not a valid integer",
        ("x",): "Missing option '--scopes'",
    }
    for args, message in cases.items():
        result = runner.invoke(args=["api-keys", "create", *args])
        assert result.exit_code != 0 and message in result.output, (args, result.output)
        assert "mk_" not in result.output
    assert db.session.scalar(db.select(db.func.count()).select_from(ApiKey)) == 0
