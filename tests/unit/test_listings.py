"""Feeds, sitemaps and sources.yml: parsed into page references and validated source configs."""

from __future__ import annotations

import pytest

from pipeline.collect.config import SourceConfig, is_url_list, source_for_target
from pipeline.collect.http import Response, Validators
from pipeline.collect.listings import SourceError, looks_like, parse_feed, parse_sitemap

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>
<item><title>Bridge opens</title><link>https://news.example/a?utm_source=rss</link>
<pubDate>Tue, 25 Jun 2019 10:00:00 +0200</pubDate></item>
<item><title>No link</title></item>
<item><title>Relative</title><link>/b</link></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>
<entry><title>Vote</title><link href="https://news.example/vote"/><published>2019-06-25T08:00:00Z</published>
<updated>2019-06-26T09:30:00Z</updated><content type="html">&lt;p&gt;Full text here.&lt;/p&gt;</content></entry>
</feed>"""

NEWS_SITEMAP = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>https://news.example/a</loc><lastmod>2019-06-25T11:00:00Z</lastmod>
<news:news><news:publication_date>2019-06-25T10:00:00Z</news:publication_date><news:title>Bridge</news:title></news:news></url>
<url><loc>https://news.example/b</loc></url>
<url><loc>javascript:alert(1)</loc></url>
</urlset>"""

INDEX = b"""<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>https://news.example/s1.xml</loc><lastmod>2019-06-25</lastmod></sitemap></sitemapindex>"""


def test_rss_items_become_pages_with_their_stated_dates_and_links_resolved_against_the_feed():
    page, relative = parse_feed(RSS, url="https://news.example/rss")
    assert relative.url == "https://news.example/b"  # an item without a link is left out
    # the publisher's offset is kept, so the article keeps its local day
    assert (page.url, page.title, page.published, page.published_source) == (
        "https://news.example/a?utm_source=rss", "Bridge opens", "2019-06-25T10:00:00+02:00", "feed")
    assert page.key == "https://news.example/a"  # tracking parameters do not make a page new


def test_atom_entries_carry_their_updated_stamp_and_optionally_their_full_text():
    (page,) = parse_feed(ATOM, url="https://news.example/atom", full_text=True)
    assert (page.published, page.stamp) == ("2019-06-25T08:00:00Z", "2019-06-26T09:30:00Z")
    assert page.html == "<p>Full text here.</p>"
    assert parse_feed(ATOM, url="https://news.example/atom")[0].html is None


def _item_dated(pub_date: str) -> bytes:
    return (f"<?xml version='1.0'?><rss version='2.0'><channel><title>T</title><item><title>A</title>"
            f"<link>https://news.example/a</link><pubDate>{pub_date}</pubDate></item></channel></rss>").encode()


@pytest.mark.parametrize(("pub_date", "published"), [
    # dates feedparser leaves empty, read by the product's own parser (email.utils' RFC 2822 reader)
    ("Mo, 12 Mar 2018 07:05:00", "2018-03-12T07:05:00Z"),  # weekday in German, no zone: UTC
    ("Fri, Feb 2 2018 21:10:00 MST", "2018-02-02T21:10:00-07:00"),  # month before day, a named zone
    ("Sun, 7 May 2017 08:00:59", "2017-05-07T08:00:59Z"),  # no zone at all
    # ordinary ones keep working, with their offset
    ("Wed, 26 Jun 2019 23:45:00 -0400", "2019-06-26T23:45:00-04:00"),
    ("Wed, 26 Jun 2019 23:45:00 GMT", "2019-06-26T23:45:00Z"),
    ("2019-06-26T08:00:00+09:00", "2019-06-26T08:00:00+09:00"),  # W3C-DTF, common in RSS too
    # nothing readable: undated, never the ingest time
    ("sometime last week", None),
    ("", None),
])
def test_a_feed_item_date_is_read_by_the_product_when_feedparser_cannot(pub_date, published):
    (page,) = parse_feed(_item_dated(pub_date), url="https://news.example/rss")
    assert page.published == published


def test_news_sitemap_urls_carry_publication_date_and_title():
    kind, pages = parse_sitemap(NEWS_SITEMAP, url="https://news.example/sitemap.xml")
    assert kind == "urlset"
    assert [(p.url, p.title, p.published, p.stamp) for p in pages] == [
        ("https://news.example/a", "Bridge", "2019-06-25T10:00:00Z", "2019-06-25T11:00:00Z"),
        ("https://news.example/b", None, None, None),
    ]


def test_a_sitemap_index_lists_child_sitemaps_and_gzip_is_read():
    import gzip

    kind, children = parse_sitemap(gzip.compress(INDEX), url="https://news.example/index.xml.gz")
    assert kind == "index" and [c.url for c in children] == ["https://news.example/s1.xml"]


@pytest.mark.parametrize(("content", "match"), [
    (b"<html><body>not a sitemap</body></html>", "not a sitemap"),
    (b"<urlset><url><loc>", "not a readable sitemap"),
    (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><urlset>&e;</urlset>', ""),
])
def test_broken_or_hostile_sitemaps_are_a_source_error(content, match):
    try:
        kind, pages = parse_sitemap(content, url="https://x/s.xml")
    except SourceError as exc:
        assert match in str(exc)
    else:  # the external entity is never resolved: at most an empty urlset
        assert not match and pages == [] and kind == "urlset"


def test_a_page_is_not_a_feed():
    with pytest.raises(SourceError, match="not a readable feed"):
        parse_feed(b"<html><body><p>hello</p></body></html>", url="https://x/")


@pytest.mark.parametrize(("content_type", "body", "kind"), [
    ("application/rss+xml", b"<rss/>", "feed"),
    ("text/xml", b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">', "feed"),
    ("application/xml", b"<?xml version='1.0'?><urlset>", "sitemap"),
    ("text/html", b"<!doctype html><html>", "page"),
])
def test_what_a_url_turns_out_to_be(content_type, body, kind):
    response = Response("https://x/", "https://x/", 200, body, content_type, None, Validators())
    assert looks_like(response) == kind


@pytest.mark.parametrize(("entry", "message"), [
    ({"name": "a", "kind": "feed", "location": "feeds/a.xml"}, "must be an http"),
    ({"name": "a", "kind": "folder", "location": "https://x/"}, "must be a local path"),
    ({"name": "a", "kind": "feed", "location": "https://x/", "options": {"fulltext": True}}, "unknown option"),
    ({"name": "a", "kind": "sitemap", "location": "https://x/", "options": {"since_days": "2"}}, "must be int"),
    ({"name": "Has Space", "kind": "urls", "location": "u.txt"}, "pattern"),
    ({"name": "a", "kind": "rss", "location": "https://x/"}, "kind"),
])
def test_invalid_source_entries_are_refused_with_the_reason(entry, message):
    with pytest.raises(ValueError, match=message):
        SourceConfig.model_validate(entry)


def test_command_line_targets_get_the_right_kind(tmp_path):
    (tmp_path / "a.warc.gz").write_bytes(b"")
    (tmp_path / "list.txt").write_text("# tonight\nhttps://news.example/a\n\nhttps://news.example/b\n")
    (tmp_path / "story.txt").write_text("date 2019-06-25\nhttps://news.example/a is where it was first seen.\n")
    kinds = {target: source_for_target(str(tmp_path / target), name="cli").kind
             for target in ("a.warc.gz", "list.txt", "story.txt")}
    assert kinds == {"a.warc.gz": "warc", "list.txt": "urls", "story.txt": "folder"}
    assert source_for_target("https://news.example/rss", name="cli").kind == "url"
    assert not is_url_list(tmp_path / "story.txt")
    with pytest.raises(FileNotFoundError):
        source_for_target(str(tmp_path / "missing"), name="cli")
