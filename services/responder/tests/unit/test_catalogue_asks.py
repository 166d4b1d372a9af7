"""What the catalogue reads in a mail: sizes asked without "talle", unsold kinds once."""

from __future__ import annotations

from mailroom_responder.decision.catalogue import Catalogue, sizes_asked
from mailroom_responder.decision.document import read_document


def test_a_number_after_en_is_a_size_asked() -> None:
    doc = read_document("", "¿Las zapatillas urbanas blancas en 40 tienen? Las quiero en 3 días.")
    assert sizes_asked(doc) == {0: {"40"}}


def test_an_unsold_kind_named_twice_is_listed_once(catalogue: Catalogue) -> None:
    found = catalogue.find(read_document("", "¿Venden mallas? Busco una malla entera."))
    assert len(found.not_carried) == 1
