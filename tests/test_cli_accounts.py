"""`flask --app capa user …` and `token …`: one clear line and a non-zero exit on every error."""

from capa.accounts import service as accounts
from capa.accounts.commands import UserChanges
from capa.common.commands import parse


def test_user_create_with_password(runner, client):
    result = runner.invoke(
        args=["user", "create", "Chen.Li", "--role", "quality_manager", "--password", "pw-of-chen-li"]
    )
    assert result.exit_code == 0, result.output
    assert "Created user chen.li (quality_manager)" in result.output
    assert accounts.authenticate("chen.li", "pw-of-chen-li").role == "quality_manager"


def test_user_create_prompts_for_a_missing_password(runner):
    result = runner.invoke(
        args=["user", "create", "wang", "--role", "supervisor"], input="s3cret-pass!\ns3cret-pass!\n"
    )
    assert result.exit_code == 0, result.output
    assert accounts.authenticate("wang", "s3cret-pass!") is not None


def test_user_create_errors_are_one_line_and_non_zero(runner, make_user):
    make_user("supervisor", "wang")
    cases = [
        (
            ["user", "create", "wang", "--role", "supervisor", "--password", "long-enough-pw"],
            "exists already",
        ),
        (["user", "create", "li", "--role", "supervisor", "--password", "short"], "too short"),
        (["user", "create", "bad name", "--role", "supervisor", "--password", "long-enough-pw"], "username"),
        (["user", "create", "li", "--role", "boss", "--password", "long-enough-pw"], "boss"),
    ]
    for args, words in cases:
        result = runner.invoke(args=args)
        assert result.exit_code != 0, args
        error_lines = [line for line in result.output.splitlines() if line.startswith("Error")]
        assert len(error_lines) == 1, result.output
        assert words in error_lines[0]
    assert [user.username for user in accounts.list_users()] == ["wang"]


def test_token_create_prints_a_working_token_last(runner, client, make_user):
    make_user("supervisor", "wang")
    result = runner.invoke(args=["token", "create", "wang"])
    assert result.exit_code == 0
    token = result.output.strip().splitlines()[-1]
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.json == {"username": "wang", "role": "supervisor"}


def test_tokens_are_stored_hashed(runner, make_user):
    user = make_user("supervisor", "wang")
    token = runner.invoke(args=["token", "create", "wang"]).output.strip().splitlines()[-1]
    stored = user.tokens[0]
    assert token not in (stored.token_hash, stored.prefix)
    assert token.startswith(stored.prefix)


def test_token_create_for_unknown_or_inactive_user_fails(runner, make_user):
    result = runner.invoke(args=["token", "create", "nobody"])
    assert result.exit_code != 0
    assert "No user named nobody" in result.output
    user = make_user("supervisor", "gone")
    accounts.update_user(user, parse(UserChanges, {"active": False}))
    assert runner.invoke(args=["token", "create", "gone"]).exit_code != 0


def test_token_revoke_stops_the_token(runner, client, make_user):
    make_user("supervisor", "wang")
    token = runner.invoke(args=["token", "create", "wang"]).output.strip().splitlines()[-1]
    result = runner.invoke(args=["token", "revoke", token])
    assert result.exit_code == 0
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert runner.invoke(args=["token", "revoke", "capa_unknown"]).exit_code != 0


def test_token_revoke_all_of_a_user(runner, client, make_user):
    make_user("supervisor", "wang")
    tokens = [runner.invoke(args=["token", "create", "wang"]).output.strip().splitlines()[-1] for _ in range(2)]
    result = runner.invoke(args=["token", "revoke", "--user", "wang"])
    assert result.exit_code == 0
    assert "Revoked 2 token(s)" in result.output
    for token in tokens:
        assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_token_revoke_needs_exactly_one_target(runner):
    assert runner.invoke(args=["token", "revoke"]).exit_code != 0
    assert runner.invoke(args=["token", "revoke", "capa_x", "--user", "wang"]).exit_code != 0


def test_a_deactivated_users_token_stops_working(client, make_user):
    user = make_user("quality_manager", "qm")
    token = accounts.create_token(user)
    accounts.update_user(user, parse(UserChanges, {"active": False}))
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_user_list_shows_roles(runner, make_user):
    make_user("admin", "root1")
    make_user("supervisor", "wang")
    output = runner.invoke(args=["user", "list"]).output
    assert "root1\tadmin\tactive" in output
    assert "wang\tsupervisor\tactive" in output
