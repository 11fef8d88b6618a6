"""Real sources end to end against the local server: feeds, sitemaps, URL lists, WARC files, ledger, quarantine."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from pipeline.collect.config import SourceConfig
from pipeline.index.mapping import uncapped_keywords
from pipeline.index.store import Store
from pipeline.runners.stream import ingest, retry_quarantine
from pipeline.runs.quarantine import list_quarantine
from tests.conftest import drop_alias
from tests.conftest import raw_client as connect
from tests.esrules import refused_terms
from tests.newsserver import NewsServer, article_html, rss

pytestmark = pytest.mark.integration

BRIDGE = ["The mayor of Lyon opened the new Rhone bridge on Tuesday after four years of works.",
          "Engineers from Vinci said the bridge would carry 20,000 cars a day from July."]
VOTE = ["The European Parliament in Strasbourg voted on Wednesday to approve the new fisheries rules.",
        "Ursula von der Leyen welcomed the vote and said the rules would protect coastal towns."]
STORM = ["Storm Miguel brought heavy rain to Brittany on Thursday, and Meteo-France issued flood warnings.",
         "Schools in Brest stayed closed while crews cleared fallen trees from the roads."]


@pytest.fixture
def server():
    server = NewsServer().start()
    yield server
    server.stop()


@pytest.fixture
def settings(es_settings):
    """No politeness delay and no backoff against the local server."""
    fetch = es_settings.fetch.model_copy(update={"per_host_delay": 0.0, "backoff": 0.0, "retries": 1,
                                                  "read_timeout": 2.0})
    return es_settings.model_copy(update={"fetch": fetch})


def feed_site(server: NewsServer) -> SourceConfig:
    """A feed of three items: a page, a page behind a redirect (with a canonical link), and a 404."""
    bridge = server.add("/2019/06/25/bridge.html", article_html("Lyon opens its new bridge", BRIDGE))
    vote_final = server.add("/world/vote.html", article_html("Parliament approves fisheries rules", VOTE,
                                                             canonical=server.url + "/world/vote.html"))
    vote = server.add("/r/vote", status=301, location=vote_final)
    server.add("/feed.xml", rss([("Lyon opens its new bridge", bridge, "Tue, 25 Jun 2019 10:00:00 GMT"),
                                 ("Parliament vote", vote + "?utm_source=rss", "Wed, 26 Jun 2019 09:00:00 GMT"),
                                 ("Gone", server.url + "/gone.html", "Wed, 26 Jun 2019 11:00:00 GMT")]),
               content_type="application/rss+xml")
    return SourceConfig(name="site-feed", kind="feed", location=server.url + "/feed.xml")


def test_a_feed_is_ingested_and_a_second_run_fetches_nothing_unconditionally(server, settings):
    source = feed_site(server)
    first = ingest([], settings, sources=[source])
    assert (first.indexed, first.rejected, first.quarantined) == (2, 1, 1)
    docs = {hit["_source"]["title"]: hit["_source"] for hit in
            connect(settings).search(index=settings.index.alias)["hits"]["hits"]}
    assert docs["Lyon opens its new bridge"]["published_at"].startswith("2019-06-25T10:00:00")
    assert docs["Lyon opens its new bridge"]["published_at_source"] == "feed"
    # Redirect followed, canonical link resolved, tracking parameter gone.
    assert docs["Parliament vote"]["url"] == server.url + "/world/vote.html"
    assert docs["Parliament vote"]["source"] == "site-feed"

    before = len(server.hits)
    second = ingest([], settings, sources=[source])
    new_hits = server.hits[before:]
    # The 404 page is retried (failed units are not remembered as done); everything else is conditional.
    # robots.txt is read once per run.
    assert [h.path for h in new_hits if not h.conditional] == ["/robots.txt", "/gone.html"]
    assert all(h.status in (304, 404) for h in new_hits), new_hits
    assert (second.indexed, second.enriched) == (0, 0)


def test_feed_dates_feedparser_cannot_read_date_the_articles(server, settings):
    """The pages carry no date: the feed's pubDate is the only source, and it is read by the product's parser."""
    bridge = server.add("/news/bridge.html", article_html("Lyon opens its new bridge", BRIDGE))
    vote = server.add("/news/vote.html", article_html("Parliament approves fisheries rules", VOTE))
    storm = server.add("/news/storm.html", article_html("Storm Miguel reaches Brittany", STORM))
    server.add("/dates.xml", rss([("Bridge", bridge, "Di, 25 Jun 2019 10:00:00"),
                                  ("Vote", vote, "Wed, Jun 26 2019 03:00:00 MST"),
                                  ("Storm", storm, "whenever")]), content_type="application/rss+xml")
    report = ingest([], settings, sources=[SourceConfig(name="dates", kind="feed", location=server.url + "/dates.xml")])
    assert report.indexed == 3
    docs = {hit["_source"]["url"].rsplit("/", 1)[-1]: hit["_source"] for hit in
            connect(settings).search(index=settings.index.alias)["hits"]["hits"]}
    assert (docs["bridge.html"]["published_at"], docs["bridge.html"]["published_at_source"]) == (
        "2019-06-25T10:00:00Z", "feed")
    assert docs["vote.html"]["published_at"] == "2019-06-26T03:00:00-07:00"  # the publisher's day and offset
    assert docs["storm.html"]["published_at"] is None and docs["storm.html"]["undated"] is True  # never ingest time


def test_a_changed_feed_fetches_only_new_pages_and_known_ones_conditionally(server, settings):
    source = feed_site(server)
    ingest([], settings, sources=[source])
    storm = server.add("/storm.html", article_html("Storm Miguel floods Brittany", STORM))
    feed = server.routes["/feed.xml"]
    feed.body = feed.body.replace(b"</channel>", f"<item><title>Storm</title><link>{storm}</link>"
                                  f"<pubDate>Thu, 27 Jun 2019 07:00:00 GMT</pubDate></item></channel>".encode())
    before = len(server.hits)
    report = ingest([], settings, sources=[source])
    unconditional = sorted(h.path for h in server.hits[before:] if not h.conditional and h.path != "/robots.txt")
    assert unconditional == ["/gone.html", "/storm.html"]  # the feed was asked conditionally; it had changed
    assert (report.indexed, report.skipped) == (1, 2)  # the two known items: unchanged pubDate, no request at all


def test_a_new_empty_index_processes_everything_again(server, settings, es_url):
    source = feed_site(server)
    ingest([], settings, sources=[source])
    drop_alias(es_url, settings.index.alias)  # the articles are gone; the ledger index is still there
    report = ingest([], settings, sources=[source])
    assert report.indexed == 2  # the ledger is only believed while its documents exist


def test_a_sitemap_index_with_news_dates_and_a_wrongly_labelled_charset(server, settings):
    body = article_html("Zürich café reopens", ["Das Café in Zürich öffnete am Montag wieder seine Türen.",
                                                 "Die Stadt feierte das Ereignis mit einem großen Fest."],
                        charset="windows-1252").encode("cp1252")
    page = server.add("/de/cafe.html", body, content_type="text/html; charset=utf-8")  # the header lies
    child = server.add("/sitemap-news.xml", f"""<?xml version="1.0"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>{page}</loc><news:news><news:publication_date>2019-06-24T07:00:00Z</news:publication_date>
</news:news></url></urlset>""", content_type="application/xml")
    server.add("/sitemap.xml", f"""<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>{child}</loc></sitemap><sitemap><loc>{server.url}/broken.xml</loc></sitemap></sitemapindex>""",
               content_type="application/xml")
    source = SourceConfig(name="site-map", kind="sitemap", location=server.url + "/sitemap.xml")
    report = ingest([], settings, sources=[source])
    assert report.indexed == 1
    (doc,) = [h["_source"] for h in connect(settings).search(index=settings.index.alias)["hits"]["hits"]]
    assert doc["title"] == "Zürich café reopens" and "öffnete" in doc["body"]
    assert (doc["published_at"][:10], doc["published_at_source"]) == ("2019-06-24", "sitemap")
    # The broken child sitemap (404) is quarantined; its sibling was read.
    assert [(r["stage"], r["ref"]) for r in report.rejections] == [("fetch", server.url + "/broken.xml")]


def test_one_failing_source_does_not_stop_the_others_and_is_reported(server, settings, tmp_path):
    server.add("/down.xml", fail_times=99, fail_status=503)
    urls = tmp_path / "tonight.urls"
    urls.write_text(server.add("/bridge.html", article_html("Lyon opens its new bridge", BRIDGE)) + "\n")
    sources = [SourceConfig(name="down", kind="feed", location=server.url + "/down.xml"),
               SourceConfig(name="list", kind="urls", location=str(urls))]
    report = ingest([], settings, sources=sources)
    assert report.indexed == 1
    assert report.failed_sources == ["down"] and "HTTP 503" in report.sources["down"]["error"]
    total, entries = list_quarantine(Store.connect(settings))
    assert total == 1 and (entries[0]["source"], entries[0]["stage"]) == ("down", "fetch")


def test_quarantined_pages_are_listed_and_a_retry_indexes_them_once_they_work(server, settings, tmp_path):
    server.add("/flaky.html", article_html("Storm Miguel floods Brittany", STORM), fail_times=99)
    urls = tmp_path / "tonight.urls"
    urls.write_text(server.url + "/flaky.html\n")
    first = ingest([urls], settings)
    assert (first.indexed, first.quarantined) == (0, 1)
    store = Store.connect(settings)
    _, (entry,) = list_quarantine(store)
    assert (entry["stage"], entry["ref"], entry["attempts"]) == ("fetch", server.url + "/flaky.html", 1)
    assert "HTTP 500" in entry["reason"]

    assert retry_quarantine(settings).indexed == 0  # still failing: one more attempt counted
    assert list_quarantine(store)[1][0]["attempts"] == 2

    server.routes["/flaky.html"].fail_times = 0
    retried = retry_quarantine(settings)
    assert (retried.indexed, retried.released) == (1, 1)
    assert list_quarantine(store) == (0, [])


def test_bad_lines_of_a_url_list_are_rejected_one_by_one_and_the_good_urls_fetched(server, settings, tmp_path):
    urls = tmp_path / "tonight.urls"
    good = server.add("/bridge.html", article_html("Lyon opens its new bridge", BRIDGE))
    urls.write_text(f"# tonight\nnot a url\nftp://x/y\n{good}\nhttp:///nohost\n")
    report = ingest([urls], settings)
    assert (report.indexed, report.failed_sources) == (1, [])
    assert sorted((r["stage"], r["ref"], r["reason"]) for r in report.rejections) == [
        ("read", f"{urls}:2", "not an http(s) URL: 'not a url'"),
        ("read", f"{urls}:3", "not an http(s) URL (scheme 'ftp'): 'ftp://x/y'"),
        ("read", f"{urls}:5", "URL without a host: 'http:///nohost'"),
    ]
    store = Store.connect(settings)
    assert sorted(e["ref"] for e in list_quarantine(store)[1]) == [f"{urls}:2", f"{urls}:3", f"{urls}:5"]
    again = ingest([urls], settings)  # unchanged bad lines are not reported again, as an unchanged file is not read
    assert (again.rejected, again.failed_sources) == (0, [])

    # a retry reads the list again (a bad line is not fetched as if it were a URL); a corrected line is released
    urls.write_text(f"# tonight\nnot a url\n# ftp://x/y\n{good}\nhttp:///nohost\n")
    retried = retry_quarantine(settings)
    assert (retried.indexed, retried.released) == (0, 1)
    assert sorted((e["ref"], e["attempts"]) for e in list_quarantine(store)[1]) == [(f"{urls}:2", 2),
                                                                                   (f"{urls}:5", 2)]
    # once the list has no bad line left, the next run releases their entries
    urls.write_text(f"# tonight\n{good}\n")
    assert ingest([urls], settings).rejected == 0
    assert list_quarantine(store) == (0, [])


def write_warc(path: Path, records: list[tuple[str, int, str, bytes]]) -> None:
    """A gzipped WARC of response records: (url, status, content type, body)."""
    with path.open("wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        for url, status, content_type, body in records:
            headers = StatusAndHeaders(f"{status} OK", [("Content-Type", content_type)], protocol="HTTP/1.1")
            writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body),
                                                          http_headers=headers))


def test_a_warc_file_is_read_with_record_offsets_as_refs(settings, tmp_path):
    warc = tmp_path / "CC-NEWS-20190625093000-00001.warc.gz"
    write_warc(warc, [
        ("https://news.example/bridge", 200, "text/html; charset=utf-8",
         article_html("Lyon opens its new bridge", BRIDGE).encode()),
        ("https://news.example/logo.png", 200, "image/png", b"\x89PNG\r\n\x1a\n"),
        ("https://news.example/moved", 301, "text/html", b""),
        ("https://news.example/vote", 200, "text/html", article_html("Parliament vote", VOTE).encode()),
    ])
    report = ingest([warc], settings)
    assert (report.indexed, report.rejected) == (2, 0)  # the image and the redirect are not articles
    hits = connect(settings).search(index=settings.index.alias)["hits"]["hits"]
    assert sorted(h["_source"]["url"] for h in hits) == ["https://news.example/bridge", "https://news.example/vote"]
    assert all(h["_source"]["input_ref"].startswith(f"{warc}#") for h in hits)
    again = ingest([warc], settings)
    assert (again.skipped, again.unchanged, again.seen) == (1, 2, 0)  # the known file is not even opened


def test_an_unchanged_sitemap_index_still_has_its_changed_child_sitemaps_read(server, settings):
    def urlset(*pages: str) -> str:
        urls = "".join(f"<url><loc>{page}</loc></url>" for page in pages)
        return f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'

    bridge = server.add("/bridge.html", article_html("Lyon opens its new bridge", BRIDGE))
    child = server.add("/news-sitemap.xml", urlset(bridge), content_type="application/xml")
    server.add("/index.xml", f'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
               f"<sitemap><loc>{child}</loc></sitemap></sitemapindex>", content_type="application/xml")
    source = SourceConfig(name="site-map", kind="sitemap", location=server.url + "/index.xml")
    assert ingest([], settings, sources=[source]).indexed == 1

    storm = server.add("/storm.html", article_html("Storm Miguel floods Brittany", STORM))
    server.routes["/news-sitemap.xml"].body = urlset(bridge, storm).encode()  # the index itself is unchanged
    before = len(server.hits)
    report = ingest([], settings, sources=[source])
    assert report.indexed == 1
    statuses = {hit.path: (hit.conditional, hit.status) for hit in server.hits[before:]}
    assert statuses["/index.xml"] == (True, 304) and statuses["/news-sitemap.xml"] == (True, 200)
    assert "/bridge.html" not in statuses or statuses["/bridge.html"] == (True, 304)


# -- server-side request forgery (issue 23): a feed whose links point at internal addresses ---------------------

GUARD_STORY = ["The mayor of Lyon opened the new Rhone bridge on Tuesday after four years of works.",
         "Engineers said the bridge would carry 20,000 cars a day from July."]
GUARD_SECRET = ["Internal admin page: the database password is hunter2 and the backup key is on the shared drive.",
          "Do not forward this page outside the newsroom under any circumstances."]


def internal_links_feed(server: NewsServer, **options) -> SourceConfig:
    """A feed on the allowed test host: one real story, one link and one redirect to internal addresses."""
    port = server.url.rsplit(":", 1)[1]
    story = server.add("/story.html", article_html("Lyon opens its new bridge", GUARD_STORY))
    server.add("/admin", article_html("Admin", GUARD_SECRET))
    hop = server.add("/go", status=302, location=f"http://localhost:{port}/admin")
    server.add("/feed.xml", rss([("Bridge", story, "Tue, 25 Jun 2019 10:00:00 GMT"),
                                 ("Admin", f"http://localhost:{port}/admin", "Tue, 25 Jun 2019 11:00:00 GMT"),
                                 ("Hop", hop, "Tue, 25 Jun 2019 12:00:00 GMT"),
                                 ("Metadata", "http://169.254.169.254/latest/meta-data/",
                                  "Tue, 25 Jun 2019 13:00:00 GMT")]),
               content_type="application/rss+xml")
    return SourceConfig(name="site", kind="feed", location=server.url + "/feed.xml", options=options)


def test_feed_links_and_redirects_to_internal_addresses_are_refused_and_nothing_secret_is_indexed(server, settings):
    report = ingest([], settings, sources=[internal_links_feed(server)])
    reasons = {r["ref"].rsplit("/", 1)[-1]: r["reason"] for r in report.rejections}
    assert set(reasons) == {"admin", "go", ""} and report.indexed == 1
    assert "a loopback address" in reasons["admin"] and "a loopback address" in reasons["go"]
    assert "a link-local address" in reasons[""]
    assert server.requests_to("/admin") == []
    hits = connect(settings).search(index=settings.index.alias, q="hunter2")["hits"]["total"]["value"]
    assert hits == 0


def test_a_source_that_allows_its_intranet_host_fetches_it(server, settings):
    report = ingest([], settings, sources=[internal_links_feed(server, allow_hosts=["localhost"])])
    assert report.indexed == 2  # the story and the admin page (same page behind the redirect: one document)
    assert len([r for r in report.rejections if "link-local" in r["reason"]]) == 1


def test_links_over_lucenes_term_limit_are_indexed_quarantined_and_released_without_an_immense_term(
        server, settings):
    """Field case es-immense-keyword-feed: a feed whose links carry 40,000-character query strings. A real
    Elasticsearch refuses a document holding a keyword term over 32,766 bytes; noida-db does not, so every index the
    run wrote is checked against that rule here (tests/esrules.py)."""
    long_query = "?q=" + "a1b2c3d4" * 5_000
    page = server.add("/stories/bridge.html", article_html("Lyon opens its new bridge", BRIDGE)) + long_query
    gone = server.url + "/stories/gone.html" + long_query
    server.add("/feed.xml", rss([("Lyon opens its new bridge", page, "Tue, 25 Jun 2019 10:00:00 GMT"),
                                 ("Gone", gone, "Wed, 26 Jun 2019 11:00:00 GMT")]),
               content_type="application/rss+xml")
    source = SourceConfig(name="long-links", kind="feed", location=server.url + "/feed.xml")

    first = ingest([], settings, sources=[source])
    assert (first.indexed, first.rejected, first.quarantined) == (1, 1, 1)
    store = Store.connect(settings)
    _, (entry,) = list_quarantine(store)
    assert (entry["stage"], entry["ref"]) == ("fetch", gone)

    client = connect(settings)
    written = client.indices.get_mapping(index=f"{settings.index.alias}*").body
    assert {f"{settings.index.alias}-ledger", f"{settings.index.alias}-quarantine",
            f"{settings.index.alias}-runs"} <= set(written)
    for index, body in written.items():
        assert uncapped_keywords(body["mappings"].get("properties") or {}) == [], index
        for hit in client.search(index=index, size=100)["hits"]["hits"]:
            assert refused_terms(body["mappings"], hit["_source"]) == [], (index, hit["_id"])

    # The unit key is over the cap, so it is not indexed: its entry is still found (by unit_id) and released.
    server.add("/stories/gone.html", article_html("Parliament approves fisheries rules", VOTE))
    retried = retry_quarantine(settings)
    assert (retried.indexed, retried.released) == (1, 1)
    assert list_quarantine(store) == (0, [])
