"""GitHub-style pagination: RFC 8288 ``Link`` header with next/last and, after the first
page, prev/first, in the order GitHub sends them."""

from __future__ import annotations

from starlette.datastructures import URL


def last_page(total: int, per_page: int) -> int:
    return max(1, -(-total // per_page))


def link_header(url: URL, page: int, per_page: int, total: int) -> str | None:
    last = last_page(total, per_page)
    links: list[tuple[int, str]] = []
    if page > 1:
        links.append((min(page - 1, last), "prev"))
    if page < last:
        links.append((page + 1, "next"))
        links.append((last, "last"))
    if page > 1:
        links.append((1, "first"))
    if not links:
        return None
    return ", ".join(
        f'<{url.include_query_params(page=target)}>; rel="{rel}"' for target, rel in links
    )
