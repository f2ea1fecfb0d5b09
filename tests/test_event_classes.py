"""How the event classes are declared: every aggregate's events are the classes as
written, each under its own explicit versioned topic, frozen dataclasses whose creation
events name their aggregate; a desk entry's aggregate keeps what its entry adds."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from eventsourcing.domain import CanMutateAggregate
from eventsourcing.utils import get_topic, resolve_topic

from incident_ledger.ledger import desk_domain, evidence
from incident_ledger.ledger.domain import TOPIC_PREFIX, LedgerAggregate, LedgerCreated

MODULES = (desk_domain, evidence)  # imported so that their aggregates are defined


def event_classes() -> list[tuple[type[LedgerAggregate], str, type[CanMutateAggregate[str]]]]:
    """(aggregate, attribute name, event class) of every event of every aggregate."""
    assert MODULES
    return [
        (aggregate, name, value)
        for aggregate in LedgerAggregate.__subclasses__()
        for name, value in vars(aggregate).items()
        if isinstance(value, type) and issubclass(value, CanMutateAggregate) and name != "Event"
    ]


def test_every_aggregate_of_the_ledger_and_the_desk_is_seen() -> None:
    kinds = {aggregate.kind for aggregate, _, _ in event_classes()}
    assert kinds == {
        "incident", "source", "report", "claim", "retraction", "assessment", "fact",
        "member", "batch", "setting", "erratum", "review", "note", "capture",
    }  # fmt: skip


def test_every_event_class_is_the_class_as_written_under_its_own_topic() -> None:
    for aggregate, name, event_class in event_classes():
        assert event_class.__qualname__ == f"{aggregate.__name__}.{name}"
        topic = vars(event_class).get("TOPIC")  # its own, not a parent's
        assert topic == f"{get_topic(aggregate)}.{name}", event_class
        assert topic.startswith(TOPIC_PREFIX)
        assert resolve_topic(topic) is event_class
        assert dataclasses.is_dataclass(event_class)
        assert cast(Any, event_class).__dataclass_params__.frozen


def test_every_creation_event_names_its_aggregate() -> None:
    created = [(a, e) for a, _, e in event_classes() if issubclass(e, LedgerCreated)]
    assert len(created) == 16
    for aggregate, event_class in created:
        assert event_class.aggregate_topic == get_topic(aggregate)


def test_a_desk_entry_aggregate_keeps_what_its_entry_adds() -> None:
    review = desk_domain.Review.Recorded(
        originator_id="review:claim:c1",
        originator_version=1,
        timestamp=datetime(2022, 1, 21, tzinfo=UTC),
        originator_topic=desk_domain.Review.Recorded.aggregate_topic,
        record="claim:c1",
        claim="c1",
        incident="g",
        verdict="rejected",
        note="no second source",
    )
    aggregate = review.mutate(None)
    assert aggregate is not None
    assert (aggregate.record, aggregate.verdict, aggregate.note) == (
        None,
        "rejected",
        "no second source",
    )


@pytest.mark.parametrize(
    "decorator",
    [dataclasses.dataclass(frozen=True), dataclasses.dataclass, dataclasses.dataclass(slots=True)],
    ids=["frozen", "plain", "slots"],
)
def test_a_stray_dataclass_decorator_on_an_event_says_to_remove_it(decorator: Any) -> None:
    with pytest.raises(TypeError) as refused:

        @decorator
        class Renamed(LedgerAggregate.Event):
            TOPIC = TOPIC_PREFIX + "test/renamed"
            name: str

    assert str(refused.value) == (
        "event class test_a_stray_dataclass_decorator_on_an_event_says_to_remove_it.<locals>."
        "Renamed has a @dataclass decorator: LedgerEvent makes every event a frozen dataclass; "
        "remove the decorator"
    )
