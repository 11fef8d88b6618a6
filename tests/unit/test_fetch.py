"""The fetcher against a local HTTP server: politeness, retries, conditional GET, limits, charsets."""

from __future__ import annotations

import pytest

from pipeline.collect.http import Fetcher, FetchError, Validators, non_public
from pipeline.core.settings import FetchSettings, load_settings
from tests.conftest import LOCAL_TEST_HOSTS, REPO
from tests.newsserver import NewsServer

FAST = FetchSettings(per_host_delay=0, backoff=0, retries=2, read_timeout=2, connect_timeout=2,
                     allow_hosts=LOCAL_TEST_HOSTS)


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


# -- server-side request forgery and the total deadline (issue 23) ---------------------------------------------


@pytest.mark.parametrize(("address", "reason"), [
    ("127.0.0.1", "loopback"), ("127.8.9.10", "loopback"), ("::1", "loopback"), ("::ffff:127.0.0.1", "loopback"),
    ("10.1.2.3", "private"), ("172.16.0.1", "private"), ("192.168.1.1", "private"), ("fd00::1", "private"),
    ("169.254.169.254", "link-local"), ("fe80::1%eth0", "link-local"),  # cloud metadata; zoned IPv6
    ("224.0.0.1", "multicast"), ("100.64.0.1", "not public"),  # carrier-grade NAT
    ("93.184.215.14", None), ("8.8.8.8", None), ("2606:4700:4700::1111", None),
])
def test_non_public_addresses_are_named(address, reason):
    assert non_public(address) == reason


def test_a_loopback_server_is_refused_unless_its_host_is_allowed(server):
    url = server.add("/admin", "<p>secret</p>")
    with pytest.raises(FetchError, match=r"refused: 127\.0\.0\.1 resolves to 127\.0\.0\.1, a loopback address"):
        fetcher(allow_hosts=()).fetch(url)
    assert server.hits == []  # not even robots.txt was asked
    assert fetcher(allow_hosts=("127.0.0.1",)).fetch(url).status == 200


@pytest.mark.parametrize("target", [
    "http://localhost:{port}/admin",  # a name for the same loopback server: only the allowed literal is allowed
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata, never contacted
    "http://10.0.0.7:9200/_cat/indices",  # a cluster on the private network
    "http://[::1]:{port}/admin",
])
def test_every_redirect_hop_is_checked(server, target):
    port = server.url.rsplit(":", 1)[1]
    url = server.add("/story.html", status=302, location=target.format(port=port))
    server.add("/admin", "<p>secret</p>")
    with pytest.raises(FetchError, match="refused: .* a (loopback|link-local|private) address") as failure:
        fetcher().fetch(url)
    assert not failure.value.transient  # not retried
    assert server.requests_to("/admin") == [] and len(server.requests_to("/story.html")) == 1


def test_a_source_can_allow_a_host_for_the_run(server):
    port = server.url.rsplit(":", 1)[1]
    url = server.add("/story.html", status=302, location=f"http://localhost:{port}/intranet")
    server.add("/intranet", "<p>our own feed</p>")
    client = fetcher()
    client.allow_hosts(["LOCALHOST"])
    assert client.fetch(url).decoded().text == "<p>our own feed</p>"


def test_allowed_hosts_come_from_the_environment_as_a_list():
    settings = load_settings(REPO / "config" / "settings.yml", env={"NEWSETL_FETCH_ALLOW_HOSTS": "intranet, 10.0.0.7"})
    assert settings.fetch.allow_hosts == ("intranet", "10.0.0.7")
    assert load_settings(REPO / "config" / "settings.yml", env={}).fetch.allow_hosts == ()


def test_a_trickling_server_is_cut_off_at_the_total_deadline(server):
    # One byte every 0.2 s never trips the 2 s read timeout; 100 bytes would take 20 s.
    url = server.add("/slow.html", "x" * 100, trickle=0.2)
    with pytest.raises(FetchError, match=r"not fetched within the total deadline of 1 s \(fetch.total_timeout\)"):
        fetcher(total_timeout=1.0, retries=0).fetch(url)


def test_the_total_deadline_also_bounds_retries(server):
    url = server.add("/flaky.html", fail_times=99, fail_status=503, delay=0.4)
    with pytest.raises(FetchError) as failure:
        fetcher(total_timeout=1.0, retries=50, backoff=0).fetch(url)
    assert "total deadline" in failure.value.reason
    assert len(server.requests_to("/flaky.html")) < 50
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
