"""`crowdaudit classify`: run a Keras classifier over images and store its top-k predictions."""

from __future__ import annotations

import sys
import time
from contextlib import nullcontext
from pathlib import Path

import click

from etl.classify.model import APPLICATIONS
from etl.cli.base import Settings, cli, pass_settings
from etl.warehouse import open_warehouse

existing_file = click.Path(exists=True, dir_okay=False, path_type=Path)


@cli.command("classify")
@click.argument("directory", required=False, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--from-images", is_flag=True, help="Classify the images already registered (load images).")
@click.option("--url-prefix", help="With a DIRECTORY: the URL it is served at, as for `load images`.")
@click.option("--model", "application", type=click.Choice(sorted(APPLICATIONS)),
              help="A Keras ImageNet model. [default: resnet50 unless --model-path]")
@click.option("--weights", help="With --model: imagenet (Keras' cache ~/.keras/models, downloaded there when "
              "missing), PATH to a local weights file, or none (random weights: for testing the plumbing "
              "only, its labels mean nothing). [default: imagenet]")
@click.option("--model-path", type=existing_file, help="A saved Keras classifier (.keras); needs --labels.")
@click.option("--labels", "labels_path", type=existing_file,
              help="With --model-path: class names, one per line, in the model's output order.")
@click.option("--preprocess", help="With --model-path: the keras.applications module whose preprocess_input "
              "the model expects (e.g. resnet50). [default: scale pixels to [0, 1]]")
@click.option("--name", help="Model name to record. [default: resnet50, or the model file's name without suffix]")
@click.option("--top-k", type=click.IntRange(min=1), default=3, show_default=True, help="Labels kept per image.")
@click.option("--target", default="groom", show_default=True, help="The class flagged when it is in the top k.")
# ResNet50 on a CPU holds about 11 MB per image of a batch (1.4 GB at 32, 4 GB at 256): 1,024
# needs about 12 GB, and a typo of 10,000 would be killed by the kernel without a word.
@click.option("--batch-size", type=click.IntRange(1, 1024), default=32, show_default=True,
              help="Images per inference batch and per commit (ResNet50 on a CPU needs about 11 MB of "
                   "memory per image of a batch).")
@click.option("--not-current", is_flag=True, help="Record the run, but keep the marts on earlier predictions.")
@pass_settings
def classify(
    settings: Settings,
    directory: Path | None,
    from_images: bool,
    url_prefix: str | None,
    application: str | None,
    weights: str | None,
    model_path: Path | None,
    labels_path: Path | None,
    preprocess: str | None,
    name: str | None,
    top_k: int,
    target: str,
    batch_size: int,
    not_current: bool,
) -> None:
    """Classify images with TensorFlow/Keras; store the top k labels and scores per image.

    Reads the images registered in the warehouse (--from-images), or registers DIRECTORY first
    exactly as `load images DIR --url-prefix URL` does and classifies the images below it. Each
    run gets a run id; every batch is committed as it finishes, so a re-run (also after a crash)
    skips images this model and weights already classified with the same --top-k and --target,
    and finishes the run a crash left. Files that are not readable images are skipped and listed.
    The `predictions` mart (after `crowdaudit build`) shows, per image, the newest current run
    that finished, classified or loaded from CSV.

    Needs the optional extra: pip install 'crowdaudit[classify]'.

    \b
    Examples:
      crowdaudit classify --from-images --model resnet50 --weights imagenet --top-k 3 --target groom
      crowdaudit classify ./weddings --url-prefix https://example.org/weddings
      crowdaudit classify --from-images --model-path my.keras --labels my_labels.txt
    """
    if bool(directory) == from_images:
        raise click.UsageError("give either a DIRECTORY or --from-images")
    if directory and not url_prefix:
        raise click.UsageError("a DIRECTORY needs --url-prefix (the URL workers will load it from)")
    if from_images and url_prefix:
        raise click.UsageError("--url-prefix goes with a DIRECTORY; --from-images reads the URLs registered")
    if model_path and (application or weights):
        raise click.UsageError("--model-path takes no --model or --weights (the file holds the weights)")
    if bool(model_path) != bool(labels_path):
        raise click.UsageError("--model-path and --labels go together")
    if preprocess and not model_path:
        raise click.UsageError("--preprocess is for --model-path; Keras models bring their own")

    from etl.classify.job import RunSettings, check_run_settings, classify_images, images_to_classify
    from etl.classify.model import load_application, load_saved_classifier
    from etl.classify.pipeline import warm_up
    from etl.classify.quiet import startup_chatter_dropped

    with startup_chatter_dropped():
        if model_path:
            classifier = load_saved_classifier(model_path, labels_path, preprocessing=preprocess, name=name)
        else:
            classifier = load_application(application or "resnet50", weights or "imagenet")
            classifier.name = name or classifier.name
        warm_up(classifier.image_size, classifier.preprocess)
    run_settings = RunSettings(top_k=top_k, target=target, batch_size=batch_size, current=not not_current)
    check_run_settings(classifier, run_settings)

    with open_warehouse(settings.warehouse, read_only=False, wait_seconds=settings.wait_seconds,
                        must_exist=from_images) as con:
        if directory:
            from etl.load.images import load_images_dir

            click.echo(load_images_dir(con, directory, url_prefix=url_prefix).summary())
        todo, already, without_path = images_to_classify(con, classifier, run_settings, under=directory)
        progress = (click.progressbar(length=todo.height, label="classify", file=sys.stderr,
                                      item_show_func=lambda rate: rate)
                    if settings.show_progress and todo.height else nullcontext())
        with progress as bar:
            started = time.perf_counter()
            done = 0

            def advance(n: int) -> None:
                nonlocal done
                done += n
                if bar is not None:
                    bar.update(n, f"{done / (time.perf_counter() - started):.1f} images/s")

            result = classify_images(con, classifier, todo, run_settings, on_batch=advance)
            if bar is not None:
                bar.update(len(result.skipped))  # skipped files were dealt with too
    result.already_classified, result.without_path = already, without_path
    click.echo(result.summary())
