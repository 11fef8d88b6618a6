"""The standfirst a page shows, its description meta, and the extracted text that lacks it: one small page each."""

import pytest
from lxml.html import fromstring

from pipeline.clean.html import extract_page
from pipeline.clean.standfirst import standfirst

LEAD = "The port reopened on Monday after a two-week strike that left dozens of ships waiting offshore."
BODY_TEXT = ("Dock workers returned to work on Monday after their union reached a wage agreement with the port.\n\n"
             "The union said members would vote on the agreement on Thursday.")


def html(description: str | None, body: str) -> str:
    meta = f'<meta property="og:description" content="{description}">' if description is not None else ""
    return f"<html><head><title>Port strike ends</title>{meta}</head><body>{body}</body></html>"


@pytest.mark.parametrize(("description", "body", "text", "expected"), [
    # the lead in the article's header, which the extractor pruned
    (LEAD, f'<article><header><h1>Port strike ends</h1><p class="lead">{LEAD}</p></header></article>', BODY_TEXT,
     LEAD),
    # the smallest block that holds it: the <p>, not the <div> around it
    (LEAD, f'<div class="teaser"><p>{LEAD}</p></div>', BODY_TEXT, LEAD),
    # meta description written with a trailing ellipsis and the page's fuller sentence
    (LEAD[:-1] + " …", f"<p>{LEAD}</p>", BODY_TEXT, LEAD),
    # the text already holds it
    (LEAD, f"<p>{LEAD}</p>", LEAD + "\n\n" + BODY_TEXT, None),
    # no description, or one too short to be a standfirst
    (None, f"<p>{LEAD}</p>", BODY_TEXT, None),
    ("Port strike ends today", "<p>Port strike ends today, the union says.</p>", BODY_TEXT, None),
    # shown only in navigation, in a link (another page's teaser) or in an aside
    (LEAD, f"<nav><p>{LEAD}</p></nav>", BODY_TEXT, None),
    (LEAD, f'<a href="/other"><span>{LEAD}</span></a>', BODY_TEXT, None),
    (LEAD, f"<aside><p>{LEAD}</p></aside>", BODY_TEXT, None),
    # a block that holds the description among much other text is not the standfirst
    (LEAD, f"<p>{LEAD} {BODY_TEXT} {BODY_TEXT}</p>", "Another text entirely, about the weather in the hills.", None),
    # the description is not shown on the page
    (LEAD, "<p>Shipping lines had diverted dozens of vessels to other harbours during the strike weeks.</p>",
     BODY_TEXT, None),
    # nothing extracted: nothing to put it in front of
    (LEAD, f"<p>{LEAD}</p>", "", None),
])
def test_standfirst(description, body, text, expected):
    assert standfirst(fromstring(html(description, body)), text) == expected


def test_extract_page_puts_the_dropped_standfirst_in_front():
    paragraphs = "".join(f"<p>{p}</p>" for p in BODY_TEXT.split("\n\n")) * 2
    page = html(LEAD, f'<article><header><h1>Port strike ends</h1><div class="article-lead"><p>{LEAD}</p></div>'
                      f"</header><div class='article-body'>{paragraphs}</div></article>")
    text = extract_page(page).text
    assert text.startswith(LEAD + "\n\n")
    assert text.count(LEAD) == 1
