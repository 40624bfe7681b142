"""fcn: the FCN family (book ch. 12) against a hand-written `fit` of the same network.

`train_step`: seconds per training step of the registry FCN (`SegmentationModel` over `fcn_network`,
its own `train_step`: pixel-wise categorical cross-entropy plus the backbone's L2) through `fit` on the
`masks` input kind's batches, compiled as the runner compiles it, against `fcn_network` compiled with
the book's `Adam` and `'categorical_crossentropy'` (Keras adds the same L2), fitted on the same batches
held in memory as one-hot tensors.

`memory`: peak RSS of a real 2-step drinks_segmentation job (images and uint8 masks decoded once, at
128x160) through the `memory` benchmark's relay, beside a bare `import tensorflow, keras`, and
against the size of what the job holds: every image (uint8 RGB) and its class-id mask (uint8).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Callable

from harness import Settings, alternate, job_memory, log, ratio, summarize, target
from ssd import fit_step_case, has_drinks

BATCH = 4
"""The book's batch size (spec 12.C)."""
TRAIN_SIZE = {False: (128, 160), True: (64, 96)}
"""(height, width) of the step comparison, multiples of 32 (the pyramid's): the CPU runs' reduced size
(the book's 480x640 has 15 times its pixels); --quick: a small input."""
TRAIN_BACKBONE_N = {False: 6, True: 1}
"""ResNet v2 blocks per stage: 6 is the book's ResNet56v2; --quick: ResNet11v2."""
TRAIN_STEPS = 2
"""Timed training steps per repetition, after one untimed step (each side traced by a first 1-step fit)."""
MEMORY_SIZE = (128, 160)
MEMORY_JOB = ("model=fcn", "dataset=drinks_segmentation", f"dataset.options.image_size=[{MEMORY_SIZE[0]},{MEMORY_SIZE[1]}]",
              "trainer.epochs=1", "trainer.steps_per_epoch=2", "model.backbone_n=1", "trainer.evaluate_train=false",
              "logger.tensorboard=false")


def mask_splits(s: Settings, size: tuple[int, int], n_train: int) -> tuple[Any, str]:
    """The first `n_train` drinks_segmentation training images and masks at `size` (H, W) if the data
    dir holds drinks, else as many `synthetic_shapes` images; and the source's name."""
    from adl_runner.data.store import DataStore

    if has_drinks(s):
        from adl_runner.data.drinks import DrinksOptions
        from adl_runner.data.drinks_masks import load_drinks_segmentation

        return load_drinks_segmentation(DataStore(s.data_dir, verify=False), DrinksOptions(list(size), n_train, 1)), "drinks"
    from adl_runner.data.synthetic_boxes import SyntheticShapeOptions, load_synthetic_shapes

    return load_synthetic_shapes(DataStore("."), SyntheticShapeOptions(shape=[*size, 3], n_train=n_train, n_test=1)), "synthetic_shapes"


def train_cases(splits: Any, backbone_n: int, steps: int) -> dict[str, Callable[[], float]]:
    """{'runner', 'hand_written'}: each call fits `steps + 1` steps of its side and returns the seconds
    per step of the last `steps` (from the end of the first: each fit's iterator start-up is left out,
    which the runner pays once per run)."""
    import keras
    import tensorflow as tf

    from adl_runner.data.inputs import make_inputs
    from adl_runner.data.pipeline import PipelineOptions
    from adl_runner.kernel.registry import MODELS
    from adl_runner.kernel.specs import BuildContext
    from adl_runner.models.segmentation.fcn import FCNOptions, fcn_network
    from adl_runner.runner.families import load_families
    from adl_runner.runner.objectives import objective_of
    from adl_runner.runner.optim import AdamOptions, adam

    load_families()
    pipeline = make_inputs("masks", splits, PipelineOptions(view="image", targets="none", batch_size=BATCH, seed=0))
    entry = MODELS.get("fcn")
    keras.utils.set_random_seed(0)
    runner = entry.build(FCNOptions(backbone_n=backbone_n),
                         BuildContext(0, pipeline.input_shape, pipeline.num_classes, tuple(splits.class_names)))
    # as runner.tasks.fit.compile_model compiles a family of objective "self" (trainer.jit_compile: auto)
    runner.compile(optimizer=adam(AdamOptions()), jit_compile="auto",
                   **objective_of(entry.spec.objective).compile_args(entry.spec.loss, onehot=True))
    runner_data = pipeline.train(0, 1, steps + 1)

    images, masks = (tf.concat(parts, 0) for parts in zip(*runner_data))  # the same batches, held as tensors
    hand_data = tf.data.Dataset.from_tensor_slices((images, masks)).batch(BATCH).prefetch(tf.data.AUTOTUNE)
    keras.utils.set_random_seed(0)
    network = fcn_network(pipeline.input_shape, pipeline.num_classes, n_layers=3, backbone_n=backbone_n)
    network.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy")

    return {"runner": fit_step_case(runner, runner_data, steps), "hand_written": fit_step_case(network, hand_data, steps)}


def drinks_masks_mb(data_dir: Path, size: tuple[int, int]) -> float:
    """MB a drinks_segmentation job holds at `size` (H, W): every image of both splits as uint8 RGB plus its uint8 mask."""
    from adl_runner.data.drinks_masks import read_polygons
    from adl_runner.data.store import DRINKS_POLYGONS, DataStore

    store = DataStore(data_dir, verify=False)
    images = sum(len(read_polygons(store.file(relpath), relpath, Counter())) for relpath in DRINKS_POLYGONS.values())
    return images * size[0] * size[1] * (3 + 1) / 1e6


def fcn(s: Settings) -> dict[str, Any]:
    """The runner's FCN training step against a hand-written fit, and a drinks_segmentation job's peak memory."""
    timings: dict[str, list[float]] = {}
    size, backbone_n = TRAIN_SIZE[s.quick], TRAIN_BACKBONE_N[s.quick]
    reps = min(s.reps, 3)
    splits, source = mask_splits(s, size, (TRAIN_STEPS + 1) * BATCH)
    log(f"fcn train_step: {source}, ResNet{9 * backbone_n + 2}v2 at {size[0]}x{size[1]}, {TRAIN_STEPS} steps x {reps} reps per side")
    for case, values in alternate(train_cases(splits, backbone_n, TRAIN_STEPS), reps).items():
        timings[f"train_step_{case}"] = values
    medians = summarize(timings)
    ratios = {"train_step_runner_vs_hand_written": ratio(medians["train_step_runner"], medians["train_step_hand_written"])}
    data: dict[str, Any] = {"source": source, "batch_size": BATCH, "train_image_size": f"{size[0]}x{size[1]}",
                            "train_backbone": f"ResNet{9 * backbone_n + 2}v2", "train_steps_per_rep": TRAIN_STEPS,
                            "train_reps": reps}
    result: dict[str, Any] = {}
    if has_drinks(s):
        dataset_mb = drinks_masks_mb(s.data_dir, MEMORY_SIZE)
        job_memory(s, "fcn", MEMORY_JOB, dataset_mb, timings, ratios)
        medians = summarize(timings)
        result["dataset_mb"] = dataset_mb
        data["memory_job"] = "run " + " ".join(MEMORY_JOB)
        data["memory_dataset"] = f"every drinks_segmentation image (uint8 RGB) and mask (uint8 ids) at {MEMORY_SIZE[0]}x{MEMORY_SIZE[1]}"
    else:
        data["memory_job"] = "skipped: no drinks under the data dir"
    return {
        "units": "train_step_*: seconds per step; memory_*: MB (peak RSS, 1e6 bytes)",
        "data": data,
        **result,
        "timings": timings,
        "medians": medians,
        "ratios": ratios,
        "targets": {"train_step_runner_vs_hand_written": target(ratios["train_step_runner_vs_hand_written"], "<=", 1.1)},
    }
