from datetime import datetime

from ninja import Query, Router, Schema
from ninja.pagination import paginate
from pydantic import Field

from obsqra.paging import ApiPagination

from . import selectors

router = Router(tags=["chain events"])


class EventFilter(Schema):
    contract: str | None = Field(None, pattern=r"^0x[0-9a-fA-F]{1,64}$", description="contract address, hex")
    from_block: int | None = Field(None, ge=0)
    to_block: int | None = Field(None, ge=0)


class ChainEventOut(Schema):
    contract_address: str
    name: str
    selector: str
    keys: list[str]
    data: list[str]
    block_number: int
    block_hash: str
    tx_hash: str
    event_index: int
    created_at: datetime


@router.get("", response=list[ChainEventOut])
@paginate(ApiPagination, page_size=50)
def events(request, filters: Query[EventFilter]):
    return selectors.chain_event_list(
        contract_address=int(filters.contract, 16) if filters.contract else None,
        from_block=filters.from_block,
        to_block=filters.to_block,
    )
