"""Management API tokens are stored only as hashes, shown once, and listed by prefix."""

from __future__ import annotations

import hashlib
import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from api.models import ApiToken

pytestmark = pytest.mark.django_db


def create_api_token(*args: str) -> str:
    out = io.StringIO()
    call_command("create_api_token", *args, stdout=out)
    return out.getvalue().strip().splitlines()[-1]


def customers(client, token: str) -> int:
    return client.get("/api/v1/customers/", HTTP_AUTHORIZATION=f"Bearer {token}").status_code


def test_the_printed_token_authenticates_and_the_database_holds_only_its_hash(client, staff_user):
    token = create_api_token("staff")
    assert customers(client, token) == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM api_apitoken")
        dump = repr(cursor.fetchall())
    assert token not in dump
    assert hashlib.sha256(token.encode()).hexdigest() in dump
    assert token[:11] in dump  # the prefix, for telling tokens apart


def test_a_second_token_needs_rotate_which_revokes_the_first(client, staff_user):
    old = create_api_token("staff")
    with pytest.raises(CommandError, match="--rotate"):
        create_api_token("staff")
    new = create_api_token("staff", "--rotate")
    assert new != old
    assert customers(client, old) == 401
    assert customers(client, new) == 200


def test_unknown_user_is_a_command_error(db):
    with pytest.raises(CommandError, match="No user named"):
        create_api_token("nobody")


def test_a_wrong_token_is_refused(client, staff_user):
    token = create_api_token("staff")
    assert customers(client, token[:-1] + ("A" if token[-1] != "A" else "B")) == 401


def test_the_admin_shows_a_prefix_never_the_token(client, staff_user):
    token = create_api_token("staff")
    client.force_login(staff_user)
    listing = client.get("/admin/api/apitoken/")
    assert listing.status_code == 200
    page = listing.content.decode()
    assert token[:11] in page
    assert token not in page
    detail = client.get(f"/admin/api/apitoken/{ApiToken.objects.get().pk}/change/")
    assert detail.status_code == 200
    assert token not in detail.content.decode()


@pytest.mark.django_db(transaction=True)
def test_migrating_hashes_the_tokens_drf_stored_in_clear(client, staff_user):
    legacy_key = "0123456789abcdef0123456789abcdef01234567"
    executor = MigrationExecutor(connection)
    executor.migrate([("api", None)])
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, "
            "created timestamp with time zone NOT NULL, user_id integer NOT NULL)"
            if connection.vendor == "postgresql"
            else "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, "
            "created datetime NOT NULL, user_id integer NOT NULL)"
        )
        cursor.execute(
            "INSERT INTO authtoken_token (key, created, user_id) VALUES (%s, %s, %s)",
            [legacy_key, "2026-01-02 03:04:05", staff_user.pk],
        )
    try:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes("api"))
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM authtoken_token")
            assert cursor.fetchall() == []
            cursor.execute("SELECT * FROM api_apitoken")
            assert legacy_key not in repr(cursor.fetchall())
        assert customers(client, legacy_key) == 200
        assert ApiToken.objects.get().prefix == legacy_key[:8]
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS authtoken_token")
