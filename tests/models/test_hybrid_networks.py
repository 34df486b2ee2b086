"""Hybrid networks, the Shared Local Encoder and the ResNet-18 baseline (DESIGN §11): shapes, parameter counts
against the papers and torchvision, stages, and the Lightning module that builds any of them from plain types."""

from __future__ import annotations

import io

import pytest
import torch
from torchvision.models import resnet18

from gennet.analysis import network_stages
from gennet.lit import ClassifierModule
from gennet.lit.classifier_module import network_class
from gennet.models import HybridScatteringNet, ResNet18, ScatteringClassifier, SharedLocalEncoder, SparseScatteringClassifier


def count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_scat_resnet10_has_the_papers_parameter_count_and_grid():
    """Oyallon et al. (ICCV 2017): Scat + ResNet-10 on 224² RGB, 1000 classes, 12.8M parameters, 28×28 maps of 3·217 channels."""
    net = HybridScatteringNet((224, 224), 3, 1000)
    assert count(net) == 12_768_488  # 12.77M: the paper's "12.8M"
    K, h, w = net.scattering.transform.output_shape
    assert (3 * K, h, w) == (651, 28, 28)
    assert net.norm.num_features == 651 and not net.norm.affine  # BatchNorm without affine after the scattering
    assert count(ResNet18((224, 224), 3, 1000, stem="imagenet")) == count(resnet18(weights=None)) == 11_689_512


@pytest.mark.parametrize("path", ["cpu", "gpu"])
def test_hybrid_trains_in_channels_last(path):
    """A channels_last model on channels_last images (common in GPU training): forward and backward run on both
    paths of the scattering, with the outputs and input gradients of the standard layout (issue 16)."""
    torch.manual_seed(0)
    net = HybridScatteringNet((32, 32), 3, 10, J=2, widths=(16, 32), blocks=(1, 1)).eval()
    net.scattering.transform.path = path
    x = torch.randn(2, 3, 32, 32)
    results = []
    for memory_format in (torch.contiguous_format, torch.channels_last):
        net = net.to(memory_format=memory_format)
        xi = x.clone(memory_format=memory_format).requires_grad_(True)
        out = net(xi)
        out.square().sum().backward()
        results.append((out.detach(), xi.grad))
    assert torch.allclose(results[1][0], results[0][0], atol=1e-5)
    assert torch.allclose(results[1][1], results[0][1], atol=1e-5)
    assert all(p.grad is not None for p in net.parameters())


def test_digit_networks_shapes_and_stages():
    x = torch.randn(3, 1, 32, 32)
    networks = {
        "hybrid": HybridScatteringNet((32, 32), 1, 10, J=2, widths=(16, 32), blocks=(1, 1)),
        "sle": SharedLocalEncoder((32, 32), 1, 10, J=2, widths=(32, 16), pool_size=2, hidden=(24,)),
        "resnet": ResNet18((32, 32), 1, 10),
        "scatnet": ScatteringClassifier((32, 32), 1, 10, J=2, hidden=16, pool_size=2, pool_stride=2),
        "sparse_scatnet": SparseScatteringClassifier((32, 32), 1, 10, J=2, proj_channels=8, num_atoms=16, n_layers=3,
                                                     hidden=16, pool_size=2, pool_stride=2),
    }
    for name, net in networks.items():
        net.eval()
        with torch.no_grad():
            logits = net(x)
            staged = x
            for _, stage in network_stages(net):
                staged = stage(staged)
        assert logits.shape == (3, 10), name
        torch.testing.assert_close(staged, logits, msg=name)  # the stages compose to the forward pass
    hybrid = networks["hybrid"]
    assert [name for name, _ in network_stages(hybrid)] == ["scattering", "norm", "stem", "layer1", "layer2", "pool", "fc"]
    assert hybrid.stem[0].in_channels == 81 and hybrid.stem[0].kernel_size == (3, 3)
    assert networks["sle"].encoder[0].kernel_size == (1, 1)
    assert networks["resnet"].stem[0].kernel_size == (3, 3) and networks["resnet"].stem[0].stride == (1, 1)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: HybridScatteringNet((32, 32), 1, 10, J=2, widths=(8, 16), blocks=(1,)), "same length"),
        (lambda: HybridScatteringNet((32, 32), 1, 10, J=6), "J=6"),
        (lambda: SharedLocalEncoder((32, 32), 1, 10, J=2, widths=()), "widths"),
        (lambda: SharedLocalEncoder((32, 32), 1, 10, J=2, dropout=1.0), "dropout"),
        (lambda: ResNet18((32, 32), 1, 10, stem="small"), "stem"),
    ],
)
def test_bad_network_arguments_raise_value_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_module_builds_the_network_from_plain_types_and_its_checkpoint_reloads_with_weights_only():
    network = {"_target_": "gennet.models.HybridScatteringNet", "J": 2, "widths": (8, 16), "blocks": [1, 1]}
    module = ClassifierModule(image_size=32, channels=1, num_classes=10, network=network, lr=0.05)
    assert isinstance(module.network, HybridScatteringNet) and module.network.fc.out_features == 10
    hp = dict(module.hparams)
    assert hp["network"]["widths"] == [8, 16] and "architecture" not in hp and "num_atoms" not in hp
    buffer = io.BytesIO()
    torch.save({"hyper_parameters": hp, "state_dict": module.state_dict()}, buffer)
    buffer.seek(0)
    checkpoint = torch.load(buffer, weights_only=True)
    again = ClassifierModule(**checkpoint["hyper_parameters"])
    again.load_state_dict(checkpoint["state_dict"])
    assert all(torch.equal(a, b) for a, b in zip(module.state_dict().values(), again.state_dict().values()))


def test_flat_configs_still_build_the_scattering_classifiers():
    """Earlier configs and checkpoints (``architecture`` + flat keys) keep working, with their flat hyper-parameters."""
    module = ClassifierModule(architecture="scatnet", scattering={"J": 2, "L": 8, "max_order": 2, "phases": None}, hidden=16)
    assert isinstance(module.network, ScatteringClassifier) and module.hparams["architecture"] == "scatnet"
    assert "network" not in module.hparams
    sparse = ClassifierModule(scattering={"J": 2}, proj_channels=8, num_atoms=16, hidden=16, seed=3)
    assert isinstance(sparse.network, SparseScatteringClassifier) and sparse.network.dictionary.shape == (8, 16)
    with pytest.raises(ValueError, match="architecture"):
        ClassifierModule(architecture="resnet")


@pytest.mark.parametrize("target", ["os.system", "gennet.models.generator", "gennet.models.hybrid_scatnet.OrderedDict",
                                    "gennet.models.NoSuchNet", "torch.nn.Linear", None])
def test_only_network_classes_of_gennet_models_can_be_named(target):
    with pytest.raises(ValueError):
        network_class(target)
    assert network_class("gennet.models.SharedLocalEncoder") is SharedLocalEncoder
    assert network_class("gennet.models.resnet.ResNet18") is ResNet18
