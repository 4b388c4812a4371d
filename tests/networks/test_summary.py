import torch

from auditkit.networks.summary import describe


def test_a_modules_parameters_and_layers_are_counted():
    net = torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3), torch.nn.ReLU(), torch.nn.Conv2d(4, 1, 3))
    record = describe(net)
    assert record["class"] == "Sequential"
    assert record["parameters"] == (2 * 4 * 9 + 4) + (4 * 9 + 1)
    assert record["layers"] == "Conv2d × 2, ReLU × 1"


def test_a_plain_callable_is_described_by_its_class():
    assert describe(lambda y: y) == {"class": "function"}
