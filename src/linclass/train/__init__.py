"""The training loop shared by every optimizer, and the state that makes a run resumable.

``fit(objective, params, X, y, optimizer=...)`` runs gradient descent, SGD, Adam, L-BFGS or a
gradient-free search behind one interface, so methods can be swapped and compared on the same
history (loss, accuracy, loss evaluations, time). ``TrainState`` holds everything needed to
continue a run bit for bit and converts to a file bundle (``state.save(path)``,
``TrainState.load(path)``).

Modules: ``run`` (``fit``), ``loop`` (the step loop and one driver per optimizer shape),
``checks`` (argument checks), ``state`` (``TrainState`` and its bundle), ``events`` (what
callbacks see and what a run returns), ``interrupts`` (stopping at a step boundary).
"""

from linclass.train._blocks import minibatch_steps
from linclass.train.events import DivergenceError, EpochEnd, StopTraining, TrainResult
from linclass.train.run import fit
from linclass.train.state import TrainState

__all__ = [
    "DivergenceError", "EpochEnd", "StopTraining", "TrainResult", "TrainState", "fit", "minibatch_steps",
]
