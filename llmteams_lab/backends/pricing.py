"""Dollar prices per model, editable, never invented.

Cost = ``tokens_in · input + tokens_out · output`` with prices in USD per million
tokens. The table ships with OpenAI's published list prices for a few common chat
models (standard tier, as of the date in :data:`PRICES_AS_OF`) — prices change, so
check them and edit the table (:func:`set_price`, or :meth:`PriceTable.load` from a
TOML file) for your provider. A model missing from the table is not guessed: the
backend warns once (:class:`UnknownPriceWarning`) and records the cost as unknown
(``None``), and a run with a dollar budget refuses to start on an unpriced model.

Model names match exactly, or after dropping a dated snapshot suffix, so
``gpt-4o-mini-2024-07-18`` is priced as ``gpt-4o-mini``.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping

from llmteams_lab.errors import SpecError
from llmteams_lab.events import on_cost_grid

__all__ = ["DEFAULT_PRICES", "PRICES_AS_OF", "Price", "PriceTable", "UnknownPriceWarning", "set_price"]

PRICES_AS_OF = "2025-06"
_SNAPSHOT = re.compile(r"-\d{4}-\d{2}-\d{2}$")


class UnknownPriceWarning(UserWarning):
    """A model has no entry in the price table; its cost is recorded as unknown."""


@dataclass(frozen=True)
class Price:
    """USD per million input and output tokens."""

    input_per_mtok: float
    output_per_mtok: float

    def __post_init__(self) -> None:
        for name in ("input_per_mtok", "output_per_mtok"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or value < 0:
                raise SpecError(name, "must be a number >= 0", value)

    def cost(self, tokens_in: int, tokens_out: int) -> float:
        return on_cost_grid((tokens_in * self.input_per_mtok + tokens_out * self.output_per_mtok) / 1_000_000)


class PriceTable:
    """Model name → :class:`Price`. Look-ups accept dated snapshot names."""

    def __init__(self, prices: Mapping[str, Price | tuple[float, float]] = ()):
        self._prices: dict[str, Price] = {}
        for model, price in dict(prices).items():
            self.set(model, price)

    def set(self, model: str, price: Price | tuple[float, float]) -> None:
        """Add or change a model's price (a :class:`Price` or ``(input, output)`` per Mtok)."""
        if not isinstance(model, str) or not model.strip():
            raise SpecError("model", "must be a non-empty string", model)
        self._prices[model] = price if isinstance(price, Price) else Price(*price)

    def get(self, model: str) -> Price | None:
        """The model's price, or ``None`` when it is not in the table (never a guess)."""
        found = self._prices.get(model)
        if found is None:
            found = self._prices.get(_SNAPSHOT.sub("", model))
        return found

    def cost(self, model: str, tokens_in: int, tokens_out: int) -> float | None:
        price = self.get(model)
        return None if price is None else price.cost(tokens_in, tokens_out)

    def load(self, path: str | Path) -> "PriceTable":
        """Add prices from a TOML file: ``[models."gpt-4o-mini"] input = 0.15, output = 0.6``."""
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        for model, row in data.get("models", {}).items():
            if not isinstance(row, dict) or set(row) != {"input", "output"}:
                raise SpecError(f"models.{model}", f"must have exactly 'input' and 'output' (USD per Mtok) in {path}",
                                show_got=False)
            self.set(model, (row["input"], row["output"]))
        return self

    def __contains__(self, model: object) -> bool:
        return isinstance(model, str) and self.get(model) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._prices))

    def __repr__(self) -> str:
        return f"<PriceTable {len(self._prices)} models>"


# OpenAI list prices, standard tier, USD per million tokens (input, output).
DEFAULT_PRICES = PriceTable({
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "o3-mini": (1.10, 4.40),
    "o4-mini": (1.10, 4.40),
    "gpt-3.5-turbo": (0.50, 1.50),
})


def set_price(model: str, input_per_mtok: float, output_per_mtok: float) -> None:
    """Add or change a price in :data:`DEFAULT_PRICES` (used by backends built afterwards)."""
    DEFAULT_PRICES.set(model, Price(input_per_mtok, output_per_mtok))
