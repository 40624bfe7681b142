"""TensorBoard: event files under <run dir>/tensorboard, written with TensorBoard's own event
writer (protocol buffers, no TensorFlow op per value: an episode's five scalars cost microseconds,
where `tf.summary` took about 4 ms on the 2-core development machine).

Scalars under their metric names (`loss`, `val_loss`, `learning_rate`, `return`, ...), images
under the tag their writer gives (a figure's name; `grids` for a GAN's progress grids, one image
per interval, so the image dashboard's step slider plays the training), and the job's
hyperparameters through the HParams plugin, whose dashboard then lists every run of
`tensorboard --logdir outputs` with its settings and the numbers it ended with.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Mapping, Optional

from PIL import Image
from tensorboard.compat.proto.event_pb2 import Event
from tensorboard.compat.proto.summary_pb2 import Summary
from tensorboard.plugins.hparams.summary_v2 import hparams_pb
from tensorboard.summary.writer.event_file_writer import EventFileWriter

COLORSPACES = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}
"""PIL's image modes as the colorspace field of TensorBoard's image summary."""


class TensorBoardTracker:
    def __init__(self, logdir: Path, hparams: Optional[Mapping[str, Any]]) -> None:
        self._logdir = logdir
        self._hparams = hparams
        self._writer: Optional[EventFileWriter] = None

    def _write(self, summary: Summary, step: int) -> None:
        """Add one summary; the event file (with the hyperparameters first) is made at the first."""
        if self._writer is None:
            self._writer = EventFileWriter(str(self._logdir), flush_secs=10)
            if self._hparams:
                self._writer.add_event(Event(wall_time=time.time(), step=0, summary=hparams_pb(dict(self._hparams))))
        self._writer.add_event(Event(wall_time=time.time(), step=step, summary=summary))

    def metrics(self, values: Mapping[str, float], step: int) -> None:
        self._write(Summary(value=[Summary.Value(tag=key, simple_value=value) for key, value in values.items()]), step)

    def image(self, tag: str, path: Path, folder: str, step: int) -> None:
        """The PNG as it is (TensorBoard decodes it), with its size and colour channels."""
        with Image.open(path) as image:
            (width, height), colorspace = image.size, COLORSPACES.get(image.mode, 3)
        encoded = Summary.Image(height=height, width=width, colorspace=colorspace, encoded_image_string=path.read_bytes())
        self._write(Summary(value=[Summary.Value(tag=tag, image=encoded)]), step)

    def file(self, path: Path, folder: str) -> None:
        """TensorBoard keeps no files."""

    def model(self, path: Path) -> None:
        """TensorBoard keeps no models."""

    def close(self, status: str) -> None:
        if self._writer is not None:
            self._writer.close()
