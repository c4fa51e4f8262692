"""The API client's cache keys follow what is sent, and its answers are bounded (issue 21, items 3 and 5).

A loopback server answers each GET with the realm, key and service it was asked with, so a
cached answer given to the wrong realm shows; another streams a body that never ends, or
declares one too large, so a client that reads it all shows.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from cachelib import SimpleCache
from devserver import DevApi
from helpers import serving
from werkzeug.wrappers import Request, Response

from flask_authrocket import AccessDenied, ApiUnavailable, AuthRocketClient
from flask_authrocket.client.transport import MAX_ANSWER_BYTES


class EchoApi:
    """A WSGI stand-in for the API: each GET answers a user record saying which realm, key and service asked."""

    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        with self._lock:
            self.calls += 1
        record = {
            "object": "user",
            "id": "usr_1",
            "realm_id": request.headers.get("Authrocket-Realm"),
            "key": request.headers.get("Authrocket-Api-Key"),
            "service": request.headers.get("Authrocket-Service"),
        }
        return Response(json.dumps(record), content_type="application/json")(environ, start_response)


@pytest.fixture
def echo() -> Iterator[tuple[EchoApi, AuthRocketClient]]:
    api = EchoApi()
    with serving(api) as root:
        client = AuthRocketClient(
            url=root + "v2", api_key="ks_a", realm="rl_A", retries=0, timeout=10, cache=SimpleCache()
        )
        yield api, client
        client.close()


@pytest.mark.parametrize(
    ("headers", "field", "value"),
    [
        ({"Authrocket-Realm": "rl_B"}, "realm_id", "rl_B"),
        ({"authrocket_realm": "rl_B"}, "realm_id", "rl_B"),  # the Ruby gem's spelling
        ({"Authrocket-Api-Key": "ks_b"}, "key", "ks_b"),
        ({"Authrocket-Service": "svc_b"}, "service", "svc_b"),
    ],
    ids=["realm", "gem-realm", "api-key", "service"],
)
def test_a_cached_answer_is_never_given_to_another_realm_key_or_service(
    echo: tuple[EchoApi, AuthRocketClient], headers: dict[str, str], field: str, value: str
) -> None:
    api, client = echo

    first = client.users.find("usr_1", cache=60)
    other = client.users.find("usr_1", cache=60, headers=headers)
    first_again = client.users.find("usr_1", cache=60)
    other_again = client.users.find("usr_1", cache=60, headers=headers)

    assert other[field] == value  # asked for itself, not given the first one's record
    assert first[field] != value and first_again == first  # and it did not poison the first one's entry
    assert other_again == other
    assert api.calls == 2  # each answer is still cached, under its own key


def test_credentials_per_call_have_their_own_cache_entries(echo: tuple[EchoApi, AuthRocketClient]) -> None:
    api, client = echo

    default = client.users.find("usr_1", cache=60)
    other = client.users.find("usr_1", cache=60, credentials={"realm": "rl_C", "api_key": "ks_c"})

    assert (default["realm_id"], other["realm_id"], other["key"]) == ("rl_A", "rl_C", "ks_c")
    assert api.calls == 2


def test_a_realm_the_key_may_not_read_is_asked_not_answered_from_anothers_cache(dev: DevApi) -> None:
    with dev.client(cache=SimpleCache()) as client:
        assert client.users.find("usr_ada", cache=60).email == "ada@example.com"
        with pytest.raises(AccessDenied):
            client.users.find("usr_ada", cache=60, headers={"Authrocket-Realm": "rl_other"})


# Bounded answers ----------------------------------------------------------------------------------------


class EndlessApi:
    """A WSGI stand-in that streams a JSON-looking body forever, counting what it managed to send."""

    def __init__(self, *, declared: int | None = None) -> None:
        self.sent = 0
        self.declared = declared
        self.finished = threading.Event()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        headers = [("Content-Type", "application/json")]
        if self.declared is not None:
            headers.append(("Content-Length", str(self.declared)))
        start_response("200 OK", headers)
        return self._body()

    def _body(self) -> Iterator[bytes]:
        chunk = b'{"padding": "' + b"x" * 65_000
        try:
            for _ in itertools.count():
                self.sent += len(chunk)
                yield chunk
        finally:
            self.finished.set()  # the client hung up: werkzeug closed the generator


def test_an_endless_answer_is_cut_off_at_the_bound_not_read_to_the_timeout() -> None:
    api = EndlessApi()
    with serving(api) as root:
        client = AuthRocketClient(url=root + "v2", api_key="ks_a", retries=0, timeout=30, max_answer_bytes=256 * 1024)
        with pytest.raises(ApiUnavailable, match="with a body over 256 KB, which is not read") as cut:
            client.users.find("usr_1")
        assert api.finished.wait(10)  # the connection was closed, ending the stream

    assert cut.value.status == 200
    assert api.sent < 8 * 1024 * 1024  # far less than 30 s of loopback streaming would be


def test_the_default_bound_is_a_few_megabytes() -> None:
    assert MAX_ANSWER_BYTES == 4 * 1024 * 1024
    api = EndlessApi()
    with serving(api) as root:
        client = AuthRocketClient(url=root + "v2", api_key="ks_a", retries=0, timeout=30)
        with pytest.raises(ApiUnavailable, match="over 4096 KB"):
            client.users.all()
        assert api.finished.wait(10)


def test_an_answer_declared_too_large_is_refused_before_its_body_is_read() -> None:
    api = EndlessApi(declared=50 * 1024 * 1024)
    with serving(api) as root:
        client = AuthRocketClient(url=root + "v2", api_key="ks_a", retries=0, timeout=30, max_answer_bytes=64 * 1024)
        with pytest.raises(ApiUnavailable, match="over 64 KB"):
            client.users.find("usr_1")
        assert api.finished.wait(10)


def test_an_answer_within_the_bound_is_read_whole(dev: DevApi) -> None:
    with dev.client(max_answer_bytes=64 * 1024) as client:
        assert len(client.users.all(max_results=1000)) == 2


@pytest.mark.parametrize("bound", [0, -1, 1.5, True, "4MB"])
def test_an_unusable_bound_is_refused_when_the_client_is_built(bound: Any) -> None:
    from flask_authrocket import ConfigurationError

    with pytest.raises(ConfigurationError, match="max_answer_bytes must be a whole number of bytes"):
        AuthRocketClient(url="https://api-e2.authrocket.com/v2", api_key="ks_a", max_answer_bytes=bound)
