"""A run's MMN recognizer: none without checkpoints, loaded at once, or loaded in a background thread
while the first videos' pose chunks are handed out (importing torch and loading the checkpoints takes
~2 s that the pose workers need not wait for)."""
from __future__ import annotations

import threading
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING

from .failures import error_line
from .options import Options

if TYPE_CHECKING:
    from recognizer.inference import Recognizer  # torch: imported when the models load


class ModelsFailed(Exception):
    """The checkpoints, loaded while the first videos' pose began, cannot be used (``__cause__`` says
    why, in one line): the run stops before any video is finished."""


class Models:
    """The recognizer, or the future of its background load; ``get`` waits for it."""

    def __init__(self, recognizer: Recognizer | None = None, loading: Future | None = None,
                 out: Path | None = None):
        self._recognizer = recognizer
        self._loading = loading
        self._out = out  # where a bug's traceback goes (OUT/errors.log)

    @classmethod
    def load(cls, opts: Options, background: bool = False) -> "Models":
        """The models of ``opts`` (their errors raised here), or with ``background`` being loaded in a
        thread (their errors then raised by ``get`` as ``ModelsFailed``)."""
        if not (opts.checkpoint or opts.bone_checkpoint):
            return cls()

        def load() -> Recognizer:
            from recognizer.inference import Recognizer

            return Recognizer(opts.checkpoint, opts.bone_checkpoint, device=opts.device, precision=opts.precision)

        if not background:
            return cls(load())
        loading: Future = Future()

        def run() -> None:
            try:
                loading.set_result(load())
            except BaseException as e:  # noqa: BLE001 - handed to whoever waits for the models
                loading.set_exception(e)

        threading.Thread(target=run, name="load-models", daemon=True).start()
        return cls(loading=loading, out=opts.out)

    @property
    def configured(self) -> bool:
        """Whether MMN checkpoints are configured (known without waiting for them to load)."""
        return self._recognizer is not None or self._loading is not None

    def get(self) -> Recognizer | None:
        """The MMN recognizer, None without checkpoints; waits for a background load (``ModelsFailed``
        if it failed)."""
        if self._loading is not None:
            try:
                self._recognizer = self._loading.result()
            except Exception as e:  # as ``load`` raises them without ``background``
                raise ModelsFailed(error_line(e, self._out, "loading the models")) from e
            self._loading = None
        return self._recognizer
