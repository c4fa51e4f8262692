"""Configuration: checked at init_app, Flask config before the environment, one instance for many apps."""

from __future__ import annotations

import re
from dataclasses import FrozenInstanceError
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from cachelib import SimpleCache
from flask import Flask
from helpers import HS_SECRET, LOGINROCKET_URL, add_demo_routes, token_for

from flask_authrocket import AuthRocket, ConfigurationError
from flask_authrocket.cache import RedisStore
from flask_authrocket.issuer import TokenIssuer
from flask_authrocket.settings import DEFAULTS, ENVIRONMENT_KEYS, SETTINGS, Settings, setting, unknown_settings

OTHER_SECRET = "jsk_test_other_realm_secret_fedcba9876543210fedcba98"


def new_app(**config: Any) -> Flask:
    """A fresh app with the demo routes' config but no extension yet."""
    app = Flask(__name__)
    app.config.update(TESTING=True, **config)
    return app


def init_error(**config: Any) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as caught:
        AuthRocket(new_app(**config))
    return caught.value


def login_host(app: Flask) -> str:
    """The host an anonymous browser is sent to for logging in."""
    answer = app.test_client().get("/private")
    assert answer.status_code == 302
    return urlsplit(answer.headers["Location"]).netloc


# -- unusable settings fail at init_app, naming the key ---------------------------


def test_neither_key_nor_loginrocket_url_is_an_error():
    message = str(init_error())

    assert "LOGINROCKET_URL" in message
    assert "AUTHROCKET_JWT_KEY" in message


@pytest.mark.parametrize("url", ["myapp.e2.loginrocket.com", "/login", "ftp://myapp.e2.loginrocket.com/", "https://"])
def test_loginrocket_url_must_be_an_absolute_http_url(url):
    message = str(init_error(LOGINROCKET_URL=url))

    assert "LOGINROCKET_URL" in message
    assert repr(url) in message


def test_long_jwt_key_that_is_not_rsa_is_an_error():
    message = str(init_error(AUTHROCKET_JWT_KEY="x" * 300))

    assert "AUTHROCKET_JWT_KEY" in message
    assert "not an RSA public key" in message


def test_long_jwt_key_error_is_raised_for_the_environment_too(monkeypatch):
    monkeypatch.setenv("AUTHROCKET_JWT_KEY", "MII" + "A" * 400)

    assert "AUTHROCKET_JWT_KEY" in str(init_error())


def test_rsa_public_key_as_jwt_key_is_accepted(rsa_issuer):
    app = new_app(AUTHROCKET_JWT_KEY=rsa_issuer.public_key_pem(), LOGINROCKET_URL=LOGINROCKET_URL)
    AuthRocket(app)
    add_demo_routes(app)

    answer = app.test_client().get("/private", headers={"Authorization": f"Bearer {token_for(rsa_issuer)}"})

    assert answer.text == "private for usr_ada"


@pytest.mark.parametrize("value", ["sso", "FULL", None])
def test_logout_must_be_full_or_local(value):
    assert "AUTHROCKET_LOGOUT" in str(init_error(AUTHROCKET_JWT_KEY=HS_SECRET, AUTHROCKET_LOGOUT=value))


@pytest.mark.parametrize("value", ["sideways", "", 1])
def test_cookie_samesite_must_be_a_known_value(value):
    assert "AUTHROCKET_COOKIE_SAMESITE" in str(
        init_error(AUTHROCKET_JWT_KEY=HS_SECRET, AUTHROCKET_COOKIE_SAMESITE=value)
    )


def test_samesite_none_needs_a_secure_cookie():
    message = str(
        init_error(AUTHROCKET_JWT_KEY=HS_SECRET, AUTHROCKET_COOKIE_SAMESITE="None", AUTHROCKET_COOKIE_SECURE=False)
    )

    assert "AUTHROCKET_COOKIE_SAMESITE" in message
    assert "AUTHROCKET_COOKIE_SECURE" in message


def test_samesite_none_with_secure_auto_is_allowed(hs_issuer):
    app = new_app(AUTHROCKET_JWT_KEY=HS_SECRET, LOGINROCKET_URL=LOGINROCKET_URL, AUTHROCKET_COOKIE_SAMESITE="none")
    AuthRocket(app)
    add_demo_routes(app)

    answer = app.test_client().get(f"/?token={token_for(hs_issuer)}", base_url="https://localhost")

    assert answer.status_code == 302
    assert "; Secure;" in answer.headers["Set-Cookie"]
    assert answer.headers["Set-Cookie"].endswith("SameSite=None")


@pytest.mark.parametrize("path", ["//evil.example", "http://evil.example/", "goodbye", ""])
def test_post_logout_path_must_be_a_local_path(path):
    message = str(init_error(AUTHROCKET_JWT_KEY=HS_SECRET, AUTHROCKET_POST_LOGOUT_PATH=path))

    assert "AUTHROCKET_POST_LOGOUT_PATH" in message


@pytest.mark.parametrize("value", [-1, -0.5, "soon"])
def test_leeway_must_not_be_negative(value):
    assert "AUTHROCKET_LEEWAY" in str(init_error(AUTHROCKET_JWT_KEY=HS_SECRET, AUTHROCKET_LEEWAY=value))


@pytest.mark.parametrize("value", [0, -5, "soon", None, True])
def test_http_timeout_must_be_a_positive_number(value):
    assert "AUTHROCKET_HTTP_TIMEOUT" in str(init_error(LOGINROCKET_URL=LOGINROCKET_URL, AUTHROCKET_HTTP_TIMEOUT=value))


def test_a_failed_init_app_leaves_the_app_unregistered():
    app = new_app(AUTHROCKET_JWT_KEY=HS_SECRET, AUTHROCKET_LEEWAY=-1)
    with pytest.raises(ConfigurationError):
        AuthRocket(app)

    app.config["AUTHROCKET_LEEWAY"] = 5
    AuthRocket(app)  # fixed config: may be registered now

    assert isinstance(app.extensions["authrocket"], AuthRocket)


# -- Flask config first, then the environment ------------------------------------------


def test_loginrocket_url_from_the_environment_when_config_is_unset(monkeypatch):
    monkeypatch.setenv("LOGINROCKET_URL", "https://from-env.loginrocket.example/")
    app = new_app(AUTHROCKET_JWT_KEY=HS_SECRET)
    AuthRocket(app)
    add_demo_routes(app)

    assert login_host(app) == "from-env.loginrocket.example"


def test_loginrocket_url_in_config_wins_over_the_environment(monkeypatch):
    monkeypatch.setenv("LOGINROCKET_URL", "https://from-env.loginrocket.example/")
    app = new_app(AUTHROCKET_JWT_KEY=HS_SECRET, LOGINROCKET_URL="https://from-config.loginrocket.example/")
    AuthRocket(app)
    add_demo_routes(app)

    assert login_host(app) == "from-config.loginrocket.example"


def test_jwt_key_from_the_environment_when_config_is_unset(monkeypatch, hs_issuer):
    monkeypatch.setenv("AUTHROCKET_JWT_KEY", HS_SECRET)
    app = new_app(LOGINROCKET_URL=LOGINROCKET_URL)
    AuthRocket(app)
    add_demo_routes(app)

    answer = app.test_client().get("/private", headers={"Authorization": f"Bearer {token_for(hs_issuer)}"})

    assert answer.status_code == 200


def test_jwt_key_in_config_wins_over_the_environment(monkeypatch, hs_issuer):
    monkeypatch.setenv("AUTHROCKET_JWT_KEY", HS_SECRET)
    app = new_app(LOGINROCKET_URL=LOGINROCKET_URL, AUTHROCKET_JWT_KEY=OTHER_SECRET)
    AuthRocket(app)
    add_demo_routes(app)
    client = app.test_client()

    env_token = client.get("/private", headers={"Authorization": f"Bearer {token_for(hs_issuer)}"})
    config_token = client.get(
        "/private", headers={"Authorization": f"Bearer {token_for(TokenIssuer(secret=OTHER_SECRET))}"}
    )

    assert env_token.status_code == 401
    assert config_token.status_code == 200


def test_settings_record_where_each_value_came_from(monkeypatch):
    monkeypatch.setenv("AUTHROCKET_JWT_KEY", HS_SECRET)
    app = new_app(LOGINROCKET_URL=LOGINROCKET_URL)
    authrocket = AuthRocket(app)

    with app.app_context():
        sources = authrocket.settings.sources

    assert sources["LOGINROCKET_URL"] == "config"
    assert sources["AUTHROCKET_JWT_KEY"] == "environment"
    assert sources["AUTHROCKET_API_KEY"] == "unset"


# -- keys that look like settings but are not -------------------------------------------


def test_unknown_keys_are_found_in_the_config_and_the_environment_with_a_suggestion():
    found = unknown_settings(
        {
            "AUTHROCKET_COOKIE_SECURED": True,
            "AUTHROCKET_JWT_KEY": HS_SECRET,
            "LOGINROCKET_JWT_KEY": HS_SECRET,  # the right name has the other prefix
            "AUTHROCKET_ZZZ": 1,  # nothing near it
            "SECRET_KEY": "not ours",
        },
        {"AUTHROCKET_MANAGED_SESSION": "1", "LOGINROCKET_URL": "https://a.example/", "LOGINROCKET_PORT": "5001"},
    )

    assert [(item.key, item.source, item.suggestion) for item in found] == [
        ("AUTHROCKET_COOKIE_SECURED", "config", "AUTHROCKET_COOKIE_SECURE"),
        ("AUTHROCKET_ZZZ", "config", None),
        ("LOGINROCKET_JWT_KEY", "config", "AUTHROCKET_JWT_KEY"),
        ("AUTHROCKET_MANAGED_SESSION", "environment", "AUTHROCKET_MANAGED_SESSIONS"),
    ]
    assert found[0].describe() == (
        "AUTHROCKET_COOKIE_SECURED (in the app's config) is not a setting; did you mean AUTHROCKET_COOKIE_SECURE?"
    )
    assert found[1].describe() == "AUTHROCKET_ZZZ (in the app's config) is not a setting."


def test_a_config_only_setting_in_the_environment_is_unknown_unless_the_app_set_it():
    environ = {"AUTHROCKET_LEEWAY": "30"}

    ignored = unknown_settings({}, environ)
    read_by_the_app = unknown_settings({"AUTHROCKET_LEEWAY": "30"}, environ)

    assert [(item.key, item.source, item.suggestion) for item in ignored] == [
        ("AUTHROCKET_LEEWAY", "environment", None)
    ]
    assert (
        ignored[0]
        .describe()
        .startswith(
            "AUTHROCKET_LEEWAY (in the environment) is read from the app's config only, never from the environment"
        )
    )
    assert read_by_the_app == []


def test_init_app_warns_once_about_each_unknown_key_without_its_value(monkeypatch, caplog):
    monkeypatch.setenv("AUTHROCKET_MANAGED_SESSION", "value-never-logged")
    app = new_app(AUTHROCKET_JWT_KEY=HS_SECRET, AUTHROCKET_COOKIE_SECURED="also-never-logged")

    with caplog.at_level("WARNING", logger="flask_authrocket"):
        AuthRocket(app)
        app.test_client().get("/")  # requests log nothing more

    warnings = [record.getMessage() for record in caplog.records if "is not a setting" in record.getMessage()]
    assert warnings == [
        "AUTHROCKET_COOKIE_SECURED (in the app's config) is not a setting; did you mean AUTHROCKET_COOKIE_SECURE? "
        "It is ignored.",
        "AUTHROCKET_MANAGED_SESSION (in the environment) is not a setting; did you mean AUTHROCKET_MANAGED_SESSIONS? "
        "It is ignored.",
    ]
    assert "never-logged" not in caplog.text
    caplog.clear()
    monkeypatch.delenv("AUTHROCKET_MANAGED_SESSION")
    with caplog.at_level("WARNING", logger="flask_authrocket"):
        AuthRocket(new_app(AUTHROCKET_JWT_KEY=HS_SECRET, AUTHROCKET_LEEWAY=10, LOGINROCKET_URL=LOGINROCKET_URL))
    assert caplog.records == []  # an app whose keys are all settings: not a word


# -- one extension, many apps -------------------------------------------------------------


def test_init_app_twice_on_one_app_is_an_error():
    app = new_app(AUTHROCKET_JWT_KEY=HS_SECRET)
    authrocket = AuthRocket(app)

    with pytest.raises(RuntimeError, match="already registered"):
        authrocket.init_app(app)


def test_a_second_instance_on_the_same_app_is_an_error():
    app = new_app(AUTHROCKET_JWT_KEY=HS_SECRET)
    first = AuthRocket(app)

    with pytest.raises(RuntimeError, match="already registered"):
        AuthRocket(app)
    assert app.extensions["authrocket"] is first


def test_factory_style_init_app():
    authrocket = AuthRocket()

    def create_app() -> Flask:
        app = new_app(AUTHROCKET_JWT_KEY=HS_SECRET, LOGINROCKET_URL=LOGINROCKET_URL)
        authrocket.init_app(app)
        add_demo_routes(app)
        return app

    app = create_app()

    assert app.extensions["authrocket"] is authrocket
    assert app.test_client().get("/").text == "Logged out"


def test_one_instance_serves_two_apps_with_their_own_secrets(hs_issuer):
    authrocket = AuthRocket()
    first = new_app(AUTHROCKET_JWT_KEY=HS_SECRET, LOGINROCKET_URL=LOGINROCKET_URL)
    second = new_app(AUTHROCKET_JWT_KEY=OTHER_SECRET, LOGINROCKET_URL=LOGINROCKET_URL)
    for app in (first, second):
        authrocket.init_app(app)
        add_demo_routes(app)
    first_token = {"Authorization": f"Bearer {token_for(hs_issuer)}"}
    second_token = {"Authorization": f"Bearer {token_for(TokenIssuer(secret=OTHER_SECRET))}"}

    assert first.test_client().get("/private", headers=first_token).status_code == 200
    assert first.test_client().get("/private", headers=second_token).status_code == 401
    assert second.test_client().get("/private", headers=second_token).status_code == 200
    assert second.test_client().get("/private", headers=first_token).status_code == 401


def test_one_instance_keeps_each_apps_settings(hs_issuer):
    authrocket = AuthRocket()
    local = new_app(AUTHROCKET_JWT_KEY=HS_SECRET, LOGINROCKET_URL=LOGINROCKET_URL, AUTHROCKET_LOGOUT="local")
    full = new_app(AUTHROCKET_JWT_KEY=HS_SECRET, LOGINROCKET_URL="https://other.loginrocket.example/")
    authrocket.init_app(local)
    authrocket.init_app(full)

    assert local.test_client().get("/logout").headers["Location"] == "http://localhost/"
    assert full.test_client().get("/logout").headers["Location"].startswith("https://other.loginrocket.example/logout?")
    with local.app_context():
        assert authrocket.settings.logout == "local"
    with full.app_context():
        assert authrocket.settings.logout == "full"


def test_instance_used_on_an_app_it_does_not_serve_says_so():
    authrocket = AuthRocket()
    app = new_app(AUTHROCKET_JWT_KEY=HS_SECRET)

    with app.app_context(), pytest.raises(RuntimeError, match="init_app"):
        _ = authrocket.settings


# -- secrets stay out of reprs ------------------------------------------------------------


def test_settings_repr_hides_the_secrets():
    app = new_app(
        AUTHROCKET_JWT_KEY=HS_SECRET, LOGINROCKET_URL=LOGINROCKET_URL, AUTHROCKET_API_KEY="ks_very_secret_api_key"
    )
    authrocket = AuthRocket(app)

    with app.app_context():
        settings = authrocket.settings
    shown = repr(settings) + str(settings)

    assert HS_SECRET not in shown
    assert "ks_very_secret_api_key" not in shown
    assert settings.jwt_key == HS_SECRET  # the secret is there, only not shown


# -- managed sessions and the cache ------------------------------------------------


@pytest.mark.parametrize("missing", ["AUTHROCKET_URL", "AUTHROCKET_API_KEY"])
def test_managed_sessions_need_the_api_settings(missing):
    api = {"AUTHROCKET_URL": "http://127.0.0.1:9/v2", "AUTHROCKET_API_KEY": "ks_test"}
    del api[missing]
    error = init_error(AUTHROCKET_JWT_KEY=HS_SECRET, AUTHROCKET_MANAGED_SESSIONS=True, **api)
    assert missing in str(error)


def test_managed_sessions_take_the_api_settings_from_the_environment(monkeypatch):
    monkeypatch.setenv("AUTHROCKET_URL", "http://127.0.0.1:9/v2")
    monkeypatch.setenv("AUTHROCKET_API_KEY", "ks_from_env")
    app = new_app(AUTHROCKET_JWT_KEY=HS_SECRET, AUTHROCKET_MANAGED_SESSIONS=True)
    authrocket = AuthRocket(app)
    with app.app_context():
        assert authrocket.session_check is not None
        assert authrocket.settings.sources["AUTHROCKET_API_KEY"] == "environment"


@pytest.mark.parametrize("value", ["sometimes", True, None])
def test_session_check_failure_must_be_open_or_closed(value):
    error = init_error(AUTHROCKET_JWT_KEY=HS_SECRET, AUTHROCKET_SESSION_CHECK_FAILURE=value)
    assert "AUTHROCKET_SESSION_CHECK_FAILURE" in str(error)


@pytest.mark.parametrize("value", [0, -5, "soon"])
def test_session_check_ttl_must_be_a_positive_number(value):
    error = init_error(AUTHROCKET_JWT_KEY=HS_SECRET, AUTHROCKET_SESSION_CHECK_TTL=value)
    assert "AUTHROCKET_SESSION_CHECK_TTL" in str(error)


@pytest.mark.parametrize("value", ["memcached://127.0.0.1", {"type": "redis"}, 42])
def test_cache_must_be_a_cachelib_cache_or_a_redis_url(value):
    error = init_error(AUTHROCKET_JWT_KEY=HS_SECRET, AUTHROCKET_CACHE=value)
    assert "AUTHROCKET_CACHE" in str(error)


def test_cache_defaults_to_an_in_process_cache_of_each_app():
    first, second = new_app(AUTHROCKET_JWT_KEY=HS_SECRET), new_app(AUTHROCKET_JWT_KEY=HS_SECRET)
    authrocket = AuthRocket()
    authrocket.init_app(first)
    authrocket.init_app(second)
    with first.app_context():
        cache = authrocket.settings.cache
    with second.app_context():
        assert isinstance(cache.cache, SimpleCache) and cache.process_only
        assert authrocket.settings.cache is not cache


def test_a_given_cachelib_cache_is_used_as_it_is():
    cache = SimpleCache()
    app = new_app(AUTHROCKET_JWT_KEY=HS_SECRET, AUTHROCKET_CACHE=cache)
    authrocket = AuthRocket(app)
    with app.app_context():
        assert authrocket.settings.cache.cache is cache


def test_a_redis_url_makes_a_redis_cache_with_a_prefix():
    app = new_app(AUTHROCKET_JWT_KEY=HS_SECRET, AUTHROCKET_CACHE="redis://127.0.0.1:6399/3")
    authrocket = AuthRocket(app)  # connecting is lazy: no server needed to configure it
    with app.app_context():
        cache = authrocket.settings.cache
    assert isinstance(cache, RedisStore)
    assert cache.prefix == "flask_authrocket:"
    assert cache.client.connection_pool.connection_kwargs["port"] == 6399
    assert cache.client.connection_pool.connection_kwargs["db"] == 3


@pytest.mark.parametrize("url", ["redis://:secret@cache:notaport/0", "redis://cache:6379/notadb"])
def test_a_malformed_redis_url_is_a_configuration_error_that_hides_the_password(url):
    error = init_error(AUTHROCKET_JWT_KEY=HS_SECRET, AUTHROCKET_CACHE=url)
    assert "AUTHROCKET_CACHE" in str(error)
    assert "secret" not in str(error)


# -- one table of settings --------------------------------------------------------


def documented_keys() -> list[tuple[str, str]]:
    """The rows of the key table in docs/configuration.md: each key and its documented default."""
    text = (Path(__file__).parent.parent / "docs" / "configuration.md").read_text()
    return re.findall(r"^\| `([A-Z_]+)` \| ([^|]+?) \|", text, re.MULTILINE)


def documented_default(key: str) -> str:
    row = setting(key)
    if row.environment:
        return "env"
    if key == "AUTHROCKET_CACHE":
        return "in-process"  # None stands for a new SimpleCache of the app's own
    if isinstance(row.default, str):
        return f'`"{row.default}"`'
    return f"`{row.default!r}`"


def test_every_setting_is_documented_in_its_order_with_its_default_and_nothing_else_is():
    documented = documented_keys()

    assert [key for key, _ in documented] == [row.key for row in SETTINGS]
    assert documented == [(row.key, documented_default(row.key)) for row in SETTINGS]


def readme_keys() -> list[str]:
    """The keys of the README's configuration table, in order (a row may name several)."""
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    table = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    keys = []
    for first_column in re.findall(r"^\| ((?:`[A-Z_]+`(?:, )?)+) \|", table, re.MULTILINE):
        keys += re.findall(r"`([A-Z_]+)`", first_column)
    return keys


def test_the_readme_lists_every_setting_in_its_order_and_nothing_else():
    # Read from the table at test time: a setting added on another branch needs its README row too.
    assert readme_keys() == [row.key for row in SETTINGS]


def test_defaults_and_environment_keys_come_from_the_rows():
    assert ENVIRONMENT_KEYS == (
        "LOGINROCKET_URL",
        "AUTHROCKET_JWT_KEY",
        "AUTHROCKET_URL",
        "AUTHROCKET_API_KEY",
        "AUTHROCKET_REALM",
        "AUTHROCKET_SERVICE",
        "AUTHROCKET_URI",
    )
    assert list(DEFAULTS) == [row.key for row in SETTINGS if not row.environment]
    assert DEFAULTS["AUTHROCKET_COOKIE_NAME"] == "arToken"
    assert DEFAULTS["AUTHROCKET_SESSION_CHECK_TTL"] == 300
    assert setting("AUTHROCKET_LEEWAY").attribute == "leeway"
    assert Settings.leeway is setting("AUTHROCKET_LEEWAY")
    assert [row.key for row in SETTINGS if row.secret] == ["AUTHROCKET_JWT_KEY", "AUTHROCKET_API_KEY", "AUTHROCKET_URI"]
    with pytest.raises(KeyError):
        setting("AUTHROCKET_NO_SUCH_KEY")


def test_each_row_becomes_the_parsed_attribute_of_the_settings():
    app = new_app(
        AUTHROCKET_JWT_KEY=HS_SECRET,
        AUTHROCKET_LEEWAY="30",
        AUTHROCKET_COOKIE_SAMESITE="strict",
        AUTHROCKET_COOKIE_MAX_AGE=3600.5,
        AUTHROCKET_LOCALE="fr",
    )
    authrocket = AuthRocket(app)
    with app.app_context():
        settings = authrocket.settings

    assert settings.leeway == 30.0
    assert settings.cookie_samesite == "Strict"
    assert settings.cookie_max_age == 3600
    assert settings.cookie_secure is None  # "auto"
    assert settings.locale == "fr"
    assert settings.token_within is None
    assert settings.token_cache_size == 1024
    assert settings.jwks_ttl == 3600.0
    assert settings.sources["AUTHROCKET_LEEWAY"] == "config"
    assert settings.sources["AUTHROCKET_JWKS_TTL"] == "default"


def test_settings_are_frozen():
    app = new_app(AUTHROCKET_JWT_KEY=HS_SECRET)
    authrocket = AuthRocket(app)
    with app.app_context():
        settings = authrocket.settings

    with pytest.raises(FrozenInstanceError):
        settings.leeway = 60
    with pytest.raises(FrozenInstanceError):
        del settings.jwt_key
    assert settings.leeway == 5.0


def test_environment_values_are_trimmed_and_an_empty_one_is_unset():
    settings = Settings.from_config(
        {"LOGINROCKET_URL": "", "AUTHROCKET_JWT_KEY": HS_SECRET, "AUTHROCKET_REALM": "  "},
        {"LOGINROCKET_URL": " https://from-env.loginrocket.example/ ", "AUTHROCKET_SERVICE": ""},
    )

    assert settings.loginrocket_url == "https://from-env.loginrocket.example/"
    assert settings.sources["LOGINROCKET_URL"] == "environment"
    assert settings.realm is None and settings.sources["AUTHROCKET_REALM"] == "config"
    assert settings.service is None and settings.sources["AUTHROCKET_SERVICE"] == "unset"


def test_an_environment_key_set_to_something_else_than_text_is_an_error():
    message = str(init_error(AUTHROCKET_JWT_KEY=HS_SECRET, AUTHROCKET_REALM=42))

    assert message == "AUTHROCKET_REALM must be a string, not int."


# -- what check shows of each value --------------------------------------------------


def shown(**config: Any) -> dict[str, str]:
    settings = Settings.from_config(config, {})
    return {row.key: settings.shown(row.key) for row in SETTINGS}


def test_shown_values_mask_the_secrets_and_write_the_rest_as_given():
    api_key = "ks_0123456789abcdef3f9a"
    values = shown(
        AUTHROCKET_JWT_KEY=HS_SECRET,
        AUTHROCKET_API_KEY=api_key,
        AUTHROCKET_URL="https://api-e2.authrocket.com/v2",
        AUTHROCKET_LEEWAY=30,
        AUTHROCKET_CACHE="redis://:hunter2@127.0.0.1:6399/0",
    )

    assert values["AUTHROCKET_API_KEY"] == "ks_...3f9a"
    assert values["AUTHROCKET_CACHE"] == "'redis://:***@127.0.0.1:6399/0'"
    assert HS_SECRET not in values["AUTHROCKET_JWT_KEY"]
    assert values["AUTHROCKET_URL"] == "'https://api-e2.authrocket.com/v2'"
    assert values["AUTHROCKET_LEEWAY"] == "30"
    assert values["AUTHROCKET_COOKIE_SECURE"] == "'auto'"  # as the app wrote it, not what it became
    assert values["AUTHROCKET_COOKIE_NAME"] == "'arToken'"
    assert values["AUTHROCKET_REALM"] == "None"
    assert not any(secret in " ".join(values.values()) for secret in (HS_SECRET, api_key, "hunter2"))


def test_a_short_api_key_shows_only_its_length_and_a_cache_object_only_its_class():
    values = shown(AUTHROCKET_JWT_KEY=HS_SECRET, AUTHROCKET_API_KEY="ks_123456789", AUTHROCKET_CACHE=SimpleCache())

    assert values["AUTHROCKET_API_KEY"] == "ks_... (12 chars)"
    assert values["AUTHROCKET_CACHE"] == "<cachelib.simple.SimpleCache>"
