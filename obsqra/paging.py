"""Pages of long lists that stay fast deep into the list, on the pages and in the API."""

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from ninja import Field, Schema
from ninja.pagination import PageNumberPagination

# Deeper pages are slow OFFSETs (and past bigint a database error); a later keyset paging lifts this.
MAX_PAGE = 10_000
MAX_PAGE_SIZE = 100


class ApiPagination(PageNumberPagination):
    """ninja's page-number paging, with both parameters bounded in the schema: out of range is a 422 naming it."""

    class Input(Schema):
        page: int = Field(1, ge=1, le=MAX_PAGE)
        page_size: int | None = Field(None, ge=1, le=MAX_PAGE_SIZE, description="default: the endpoint's own")


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
