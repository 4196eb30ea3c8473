"""The app's typed args: the serve config's autoscaling, and what they refuse."""

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from deployments.app import LakehouseAppArgs
from lakehouse.settings import Settings

CONFIG = Path(__file__).parents[2] / "deployments" / "serve_config.yaml"


def test_the_serve_config_autoscales_the_ingress():
    args = LakehouseAppArgs.model_validate(
        yaml.safe_load(CONFIG.read_text())["applications"][0]["args"]
    )
    scaling = args.scaling(Settings())
    assert set(scaling) == {"autoscaling_config"}
    config = scaling["autoscaling_config"]
    assert (
        1 <= config["min_replicas"] < config["max_replicas"]
        and config["target_ongoing_requests"] > 0
    )


def test_fixed_replicas_without_autoscaling():
    assert LakehouseAppArgs(num_replicas=3).scaling(Settings()) == {"num_replicas": 3}
    assert LakehouseAppArgs().scaling(Settings(replicas=2)) == {"num_replicas": 2}


@pytest.mark.parametrize(
    "args",
    [
        {"num_replicas": 2, "autoscaling": {}},
        {"autoscaling": {"min_replicas": 3, "max_replicas": 2}},
        {"autoscaling": {"target_ongoing_requests": 0}},
        {"autoscaling": {"max_replica": 2}},
    ],
)
def test_contradictory_or_unknown_scaling_args_are_refused(args):
    with pytest.raises(ValidationError):
        LakehouseAppArgs.model_validate(args)
