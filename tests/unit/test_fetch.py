"""The fetcher against a local HTTP server: politeness, retries, conditional GET, limits, charsets."""

from __future__ import annotations

import pytest

from pipeline.collect.http import Fetcher, FetchError, Validators
from pipeline.core.settings import FetchSettings
from tests.newsserver import NewsServer

FAST = FetchSettings(per_host_delay=0, backoff=0, retries=2, read_timeout=2, connect_timeout=2)


@pytest.fixture
def server():
    server = NewsServer().start()
    yield server
    server.stop()


def fetcher(**changes) -> Fetcher:
    return Fetcher(FAST.model_copy(update=changes))


def test_a_page_is_fetched_with_the_product_user_agent_and_validators(server):
    url = server.add("/a.html", "<p>hello</p>")
    response = fetcher().fetch(url)
    assert (response.status, response.decoded().text, response.content_type) == (200, "<p>hello</p>", "text/html")
    assert response.validators.etag
    assert server.requests_to("/a.html")[0].user_agent.startswith("newsetl/")


def test_a_conditional_get_of_an_unchanged_page_is_answered_304(server):
    url = server.add("/a.html", "<p>hello</p>")
    client = fetcher()
    first = client.fetch(url)
    again = client.fetch(url, first.validators)
    assert again.not_modified and again.content == b""
    assert [hit.conditional for hit in server.requests_to("/a.html")] == [False, True]


def test_redirects_are_followed_to_the_final_url(server):
    target = server.add("/final.html", "<p>moved here</p>")
    url = server.add("/old.html", status=301, location=target)
    response = fetcher().fetch(url)
    assert (response.url, response.requested_url, response.redirected) == (target, url, True)


@pytest.mark.parametrize(("route", "reason", "attempts"), [
    ({"status": 404, "body": "gone"}, "HTTP 404", 1),  # permanent: asked once
    ({"status": 403, "body": "no"}, "HTTP 403", 1),
    ({"fail_times": 99, "fail_status": 500}, "HTTP 500", 3),  # transient: 1 + 2 retries, then given up
    ({"fail_times": 99, "fail_status": 503}, "HTTP 503", 3),
    ({"fail_times": 99, "fail_status": 429}, "HTTP 429", 3),
])
def test_failures_raise_a_specific_error_after_retrying_only_transient_ones(server, route, reason, attempts):
    url = server.add("/p.html", **route)
    with pytest.raises(FetchError, match=reason):
        fetcher().fetch(url)
    assert len(server.requests_to("/p.html")) == attempts


def test_a_transient_failure_that_clears_is_retried_to_success(server):
    url = server.add("/p.html", "<p>ok</p>", fail_times=2, fail_status=502)
    assert fetcher().fetch(url).status == 200
    assert [hit.status for hit in server.requests_to("/p.html")] == [502, 502, 200]


def test_a_slow_server_times_out(server):
    url = server.add("/slow.html", "<p>late</p>", delay=1.5)
    with pytest.raises(FetchError, match="(?i)timed? ?out") as failure:
        fetcher(read_timeout=0.3, retries=0).fetch(url)
    assert failure.value.transient


def test_a_response_over_the_size_limit_is_refused(server):
    url = server.add("/big.html", "x" * 5000)
    with pytest.raises(FetchError, match="too large"):
        fetcher(max_bytes=2048).fetch(url)


@pytest.mark.parametrize(("declared", "body", "expected", "repaired"), [
    ("utf-8", "Zürich café".encode(), "Zürich café", False),
    # The header lies; the page's own <meta> is right.
    ("utf-8", '<meta charset="windows-1252"><p>Zürich café</p>'.encode("cp1252"), '<meta charset="windows-1252">'
     "<p>Zürich café", False),
    ("iso-8859-1", "Zürich café".encode(), "Zürich café", False),  # valid UTF-8 wins over a wrong label
    ("windows-1252", "“Quoted” Zürich".encode("cp1252"), "“Quoted” Zürich", False),
])
def test_charsets_are_decoded_even_when_the_server_declares_the_wrong_one(server, declared, body, expected, repaired):
    url = server.add("/c.html", body, content_type=f"text/html; charset={declared}")
    decoded = fetcher().fetch(url).decoded()
    assert decoded.text.startswith(expected)
    assert bool(decoded.note) == repaired


def test_robots_txt_disallow_is_obeyed_and_asked_once(server):
    server.add("/robots.txt", "User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    allowed = server.add("/public/a.html", "<p>a</p>")
    blocked = server.add("/private/b.html", "<p>b</p>")
    client = fetcher()
    assert client.fetch(allowed).status == 200
    with pytest.raises(FetchError, match="disallowed by .*robots.txt"):
        client.fetch(blocked)
    assert server.requests_to("/private/b.html") == []
    assert len(server.requests_to("/robots.txt")) == 1


def test_an_unavailable_robots_txt_means_nothing_is_fetched_from_that_host(server):
    server.add("/robots.txt", fail_times=99, fail_status=503)
    url = server.add("/a.html", "<p>a</p>")
    with pytest.raises(FetchError, match="disallowed"):
        fetcher().fetch(url)
    assert server.requests_to("/a.html") == []


def test_requests_to_one_host_are_spaced_by_the_per_host_delay(server):
    waits: list[float] = []
    urls = [server.add(f"/{i}.html", f"<p>{i}</p>") for i in range(3)]
    client = Fetcher(FAST.model_copy(update={"per_host_delay": 5.0}), sleep=waits.append)
    for url in urls:
        client.fetch(url)
    # The fake sleep does not move the clock: the 2nd request is scheduled 5 s after the 1st, the 3rd 10 s after.
    assert len(waits) == 2 and 4.0 < waits[0] <= 5.0 and 9.0 < waits[1] <= 10.0


def test_fetch_many_returns_results_and_errors_in_input_order(server):
    good = server.add("/g.html", "<p>g</p>")
    missing = server.url + "/missing.html"
    results = list(fetcher().fetch_many([(good, None), (missing, Validators()), (good, None)]))
    assert [url for url, _ in results] == [good, missing, good]
    assert isinstance(results[1][1], FetchError) and results[1][1].status == 404


@pytest.mark.parametrize("url", ["ftp://example.org/a", "file:///etc/passwd", "not a url"])
def test_only_http_urls_are_fetched(url):
    with pytest.raises(FetchError, match="not an http"):
        fetcher().fetch(url)


@pytest.mark.parametrize("obey_robots", [True, False])
def test_a_host_name_that_does_not_resolve_is_reported_as_a_dns_failure(obey_robots):
    """`.invalid` never resolves (RFC 2606); before, robots.txt being unreachable read as "disallowed"."""
    with pytest.raises(FetchError, match="DNS lookup failed for no-such-host.invalid") as failure:
        fetcher(obey_robots=obey_robots).fetch("http://no-such-host.invalid/page.html")
    assert "disallowed" not in str(failure.value) and not failure.value.transient


def test_a_refused_connection_is_not_reported_as_robots_disallowed(server):
    from pipeline.index.embedded import free_port

    url = f"http://127.0.0.1:{free_port()}/page.html"  # nothing listens there
    with pytest.raises(FetchError) as failure:
        fetcher(retries=0).fetch(url)
    assert "disallowed" not in str(failure.value) and "host unreachable: ConnectionError" in str(failure.value)
