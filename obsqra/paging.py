"""Pages of long lists that stay fast deep into the list."""

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet


def page_of(rows: QuerySet, *, number, per_page: int, count: int | None = None) -> Page:
    """Sort, count and offset on the bare table's keys, then load only that page's rows with their joins.

    A joined query with OFFSET 9980 makes the database join and sort every row first; the keys alone
    come from an index. A caller that already knows how many rows there are passes `count`.
    """
    paginator = Paginator(rows.values_list("pk", flat=True), per_page)
    if count is not None:
        paginator.count = count  # a cached_property: the COUNT(*) query is not run
    page = paginator.get_page(number)
    loaded = rows.in_bulk(list(page.object_list))
    page.object_list = [loaded[pk] for pk in page.object_list]
    return page
