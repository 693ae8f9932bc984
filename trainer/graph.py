"""Cutting a functional Keras model in two at one layer's output, sharing the layers (and so the weights).

Fine-tuning trains only the top blocks of the backbone: everything below them is frozen, so its output for a photo
never changes and can be computed once. :func:`lower_model` is that frozen part (input -> the cut), and
:func:`upper_model` re-applies the SAME layer objects above the cut to a new input, so training the upper model
trains the weights of the full model in place.
"""
from __future__ import annotations

from typing import Any, Dict


class SameTensor:
    """A ``tensor_dict`` entry for ``Node.map_arguments``: hands out the same tensor to every consumer."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def pop(self) -> Any:
        return self.value


def lower_model(model: Any, layer_name: str) -> Any:
    """``model``'s input -> ``layer_name``'s output, as a model sharing ``model``'s layers."""
    from trainer.model import keras

    return keras().Model(model.inputs, model.get_layer(layer_name).output, name=f"{model.name}_to_{layer_name}")


def upper_model(model: Any, layer_name: str) -> Any:
    """``layer_name``'s output -> ``model``'s output: every layer of ``model`` that depends only on the cut, called
    again on a new input (the same layer objects, so the same weights).

    Raises ``ValueError`` when the part above the cut also reads a tensor from below it (a skip connection across
    the cut): then the cut is not a block boundary.
    """
    import tensorflow as tf

    from trainer.model import keras

    k = keras()
    cut = model.get_layer(layer_name).output
    inp = k.Input(shape=tuple(cut.shape[1:]), dtype=cut.dtype, name=f"{layer_name}_in")
    tensors: Dict[str, SameTensor] = {str(id(cut)): SameTensor(inp)}
    for depth in sorted(model._nodes_by_depth, reverse=True):  # noqa: SLF001 - the functional graph, in order
        for node in model._nodes_by_depth[depth]:  # noqa: SLF001
            layer = node.layer
            if isinstance(layer, k.layers.InputLayer):
                continue
            ins = [str(id(t)) in tensors for t in tf.nest.flatten(node.keras_inputs)]
            if ins and all(ins):  # above the cut: call the same layer on the new tensors
                args, kwargs = node.map_arguments(tensors)
                results = layer(*args, **kwargs)
                for t, v in zip(tf.nest.flatten(node.outputs), tf.nest.flatten(results)):
                    tensors[str(id(t))] = SameTensor(v)
            elif any(ins):
                raise ValueError(f"{layer.name} reads from below {layer_name}: not a block boundary")
    out = tensors.get(str(id(model.outputs[0])))
    if out is None:
        raise ValueError(f"{model.name}'s output does not depend on {layer_name}")
    return k.Model(inp, out.value, name=f"{model.name}_from_{layer_name}")
