"""`Optimizer`: what SGD, Adam and AdamW share (parameter groups, lr, zero_grad, state dicts).

An optimizer holds the model's parameters in *parameter groups*: a list of dicts, each with
"params" (a list of Tensors) and its own hyperparameters (lr, weight_decay, ...), as in
PyTorch. `SGD(model.parameters(), lr=0.1)` makes one group; a list of dicts makes several,
e.g. no weight decay for biases and LayerNorm weights:

    AdamW([{"params": matrices}, {"params": vectors, "weight_decay": 0.0}], lr=1e-3)

`step()` reads each parameter's `.grad` (never changes it) and updates `.data` in place,
in numpy: the update itself is not part of any graph.
"""

import numpy as np

from ..tensor import Tensor
from ..validation import real_number


def _as_param_list(params, who: str) -> list:
    """A list of parameter Tensors from a Module, a Tensor or any iterable of Tensors."""
    from ..nn.module import Module  # late import: optim does not need nn at import time

    if isinstance(params, Module):
        params = params.parameters()
    elif isinstance(params, Tensor):
        params = [params]
    params = list(params)
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(
                f"{who}: parameter {i} is a {type(p).__name__}, not a Tensor; pass model.parameters() "
                "(or a list of dicts {'params': [...], 'lr': ...} for parameter groups)"
            )
        if not p.requires_grad:
            raise ValueError(f"{who}: parameter {i} (shape {p.shape}) does not require grad, so it can never be trained")
    return params


class Optimizer:
    """Base class: keeps parameter groups and per-parameter state; subclasses write `_update`."""

    def __init__(self, params, defaults: dict):
        self.defaults = dict(defaults)
        self.param_groups = []
        self.state = {}  # id(param) -> dict of arrays and the param's step count
        from ..nn.module import Module

        if isinstance(params, Module):
            params = params.parameters()  # SGD(model, lr) works as well as SGD(model.parameters(), lr)
        elif isinstance(params, Tensor):
            params = [params]
        items = list(params)
        if not items:
            raise ValueError(f"{type(self).__name__} got no parameters: pass model.parameters() of a model that has some")
        if all(isinstance(item, dict) for item in items):
            for group in items:
                self.add_param_group(group)
        else:
            self.add_param_group({"params": items})

    def add_param_group(self, group: dict) -> None:
        """Add a dict {"params": [...], hyperparameter: value, ...}; missing settings take the defaults."""
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(f"{type(self).__name__}: a parameter group is a dict with a 'params' list, got {group!r}")
        params = _as_param_list(group["params"], type(self).__name__)
        known = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in known for p in params) or len({id(p) for p in params}) != len(params):
            raise ValueError(f"{type(self).__name__}: a parameter appears twice (in one group or in two groups)")
        full = dict(self.defaults)
        full.update({k: v for k, v in group.items() if k != "params"})
        full["params"] = params
        self._check_hyperparameters(full)
        self.param_groups.append(full)

    def _check_hyperparameters(self, group: dict) -> None:
        me = type(self).__name__
        real_number(group["lr"], f"{me}: the learning rate lr", minimum=0.0, hint=" (e.g. lr=1e-3)")
        real_number(group.get("weight_decay", 0.0), f"{me}: weight_decay", minimum=0.0)

    # --- the learning rate ---------------------------------------------------------

    @property
    def lr(self) -> float:
        """The learning rate (of the first group). Setting it sets every group's lr (schedules do this)."""
        return self.param_groups[0]["lr"]

    @lr.setter
    def lr(self, value) -> None:
        value = real_number(value, f"{type(self).__name__}: the learning rate lr", minimum=0.0)
        for group in self.param_groups:
            group["lr"] = value

    # --- the update -------------------------------------------------------------------

    def zero_grad(self) -> None:
        """Forget every parameter's gradient (they add up across backward() calls otherwise)."""
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    def step(self) -> None:
        """Update every parameter that has a gradient (parameters with grad None are skipped)."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = np.asarray(p.grad)
                if grad.shape != p.data.shape:
                    raise ValueError(f"{type(self).__name__}: a gradient of shape {grad.shape} for a parameter of shape {p.shape}")
                self._update(p, grad, group, self.state.setdefault(id(p), {}))

    def _update(self, p: Tensor, grad: np.ndarray, group: dict, state: dict) -> None:
        raise NotImplementedError

    # --- saving and restoring ---------------------------------------------------------

    def _all_params(self) -> list:
        return [p for group in self.param_groups for p in group["params"]]

    def state_dict(self) -> dict:
        """{"type", "state": {index: {...arrays, "step"}}, "param_groups": [{hyperparameters, "params": [indices]}]}.

        Parameters are named by their position across the groups (0, 1, ...), so the state dict
        can be loaded into a new optimizer built over a new model of the same shape. Arrays are copies.
        """
        index = {id(p): i for i, p in enumerate(self._all_params())}
        groups = []
        for group in self.param_groups:
            saved = {k: (list(v) if isinstance(v, tuple) else v) for k, v in group.items() if k != "params"}
            saved["params"] = [index[id(p)] for p in group["params"]]
            groups.append(saved)
        state = {}
        for p in self._all_params():
            entry = self.state.get(id(p))
            if entry:
                state[index[id(p)]] = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in entry.items()}
        return {"type": type(self).__name__, "state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore hyperparameters, moments and step counts saved by `state_dict()`.

        The optimizer must have the same groups of the same sizes and shapes; otherwise a
        ValueError says what differs and nothing is changed.
        """
        me = type(self).__name__
        if not isinstance(state_dict, dict) or "param_groups" not in state_dict or "state" not in state_dict:
            raise ValueError(f"{me}.load_state_dict expects what optimizer.state_dict() returns (with 'state' and 'param_groups')")
        saved_type = state_dict.get("type")
        if saved_type is not None and saved_type != me:
            raise ValueError(f"this optimizer state was saved from {saved_type}, but this optimizer is {me}")
        saved_groups = list(state_dict["param_groups"])
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{me}: the state has {len(saved_groups)} parameter groups, this optimizer {len(self.param_groups)}")
        params = self._all_params()
        problems = []
        for g, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                problems.append(f"group {g} has {len(saved['params'])} parameters in the state, {len(group['params'])} here")
        state = {}
        for key, entry in dict(state_dict["state"]).items():
            i = int(key)
            if not 0 <= i < len(params):
                problems.append(f"state for parameter {i}, but there are only {len(params)}")
                continue
            entry = dict(entry)
            for name, value in entry.items():
                if isinstance(value, np.ndarray) and value.shape != params[i].shape:
                    problems.append(f"parameter {i}: {name} has shape {value.shape}, the parameter {params[i].shape}")
            state[i] = entry
        if problems:
            raise ValueError(f"cannot load this optimizer state into {me} (nothing was changed): " + "; ".join(problems))

        for saved, group in zip(saved_groups, self.param_groups):
            for k, v in saved.items():
                if k != "params":
                    group[k] = tuple(v) if isinstance(v, list) else v
        self.state = {}
        for i, entry in state.items():
            p = params[i]
            self.state[id(p)] = {k: _restore(k, v, p) for k, v in entry.items()}

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            settings = ", ".join(f"{k}={v}" for k, v in group.items() if k != "params")
            count = sum(p.data.size for p in group["params"])
            lines.append(f"  group {i}: {len(group['params'])} tensors, {count:,} numbers, {settings}")
        return "\n".join(lines) + "\n)"


def _restore(name, value, p):
    """One saved state entry back to what `_update` keeps: the step count as an int, moments as arrays."""
    if name == "step":
        return int(np.asarray(value).item())
    if isinstance(value, np.ndarray) and value.shape == p.shape:
        return np.array(value, dtype=p.dtype, copy=True)
    return value.item() if isinstance(value, (np.generic, np.ndarray)) else value
