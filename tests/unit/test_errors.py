import pickle

import pytest

from lakehouse import errors


def _all_error_classes():
    return [
        obj
        for obj in vars(errors).values()
        if isinstance(obj, type) and issubclass(obj, errors.LakehouseError)
    ]


@pytest.mark.parametrize("cls", _all_error_classes())
def test_every_error_round_trips_through_pickle(cls):
    original = cls("something went wrong", dataset="workers", limit=3)
    copy = pickle.loads(pickle.dumps(original))
    assert type(copy) is cls
    assert copy.message == "something went wrong"
    assert copy.details == {"dataset": "workers", "limit": 3}
    assert copy.status == cls.status and copy.code == cls.code


def test_wire_form_has_code_message_and_details():
    body = errors.SchemaDrift("drift", dataset="w").to_dict()
    assert body == {"error": "schema_drift", "message": "drift", "details": {"dataset": "w"}}
    assert errors.NotFound("gone").to_dict() == {"error": "not_found", "message": "gone"}


def test_statuses_follow_the_tree():
    assert errors.InvalidInput.status == 400
    assert errors.QueryRejected.status == 400
    assert errors.Unauthorized.status == 401
    assert errors.Forbidden.status == 403
    assert errors.NotFound.status == 404
    assert errors.SchemaDrift.status == 409
    assert errors.TooLarge.status == 413
    assert errors.Unavailable.status == 503
    assert errors.TemporarilyUnavailable.status == 503
    assert errors.TemporarilyUnavailable.retry_after_s == 1
    codes = [cls.code for cls in _all_error_classes()]
    assert len(codes) == len(set(codes)), "codes must be unique"
