"""Pure price arithmetic (cheap, fine to call directly from async code)."""

VAT_RATE = 0.20


def order_total(unit_prices: dict[str, int], lines: list[tuple[str, int]]) -> int:
    return sum(unit_prices[sku] * qty for sku, qty in lines)


def vat_breakdown(gross_cents: int, rate: float = VAT_RATE) -> dict[str, int]:
    net = round(gross_cents / (1 + rate))
    return {"gross_cents": gross_cents, "net_cents": net, "vat_cents": gross_cents - net}


def convert(amount_cents: int, rate: float) -> int:
    return round(amount_cents * rate)
