"""`crowdaudit report`: one self-contained HTML file from the marts (no CDN, no external file).

Every number comes from a mart, so a reader can follow it: template -> mart -> intermediate ->
staging -> raw table -> loader. Images are embedded as small base64 thumbnails when the warehouse
knows a local path for them.
"""

from __future__ import annotations

import base64
import io
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import jinja2

from etl import __version__
from etl.paths import TEMPLATES_DIR

MAX_WRONG_IMAGES = 24
THUMBNAIL_PIXELS = 96


def _rows(con: duckdb.DuckDBPyConnection, query: str) -> list[dict]:
    return con.sql(query).pl().to_dicts()


def _table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'main' AND table_name = ?", [name]
    ).fetchall()[0][0]
    return found > 0


def thumbnail_data_uri(path: str | None) -> str | None:
    """A small JPEG of the image as a data: URI, or None when the file is not here."""
    if not path or not Path(path).is_file():
        return None
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image = image.convert("RGB")
            image.thumbnail((THUMBNAIL_PIXELS, THUMBNAIL_PIXELS))
            buffer = io.BytesIO()
            image.save(buffer, format="JPEG", quality=80)
    except (OSError, UnidentifiedImageError):
        return None
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def gather(con: duckdb.DuckDBPyConnection) -> dict:
    """Everything the template shows, read from the marts."""
    if not _table_exists(con, "classifier_metrics"):
        from etl.errors import CrowdauditError

        raise CrowdauditError("the warehouse has no marts yet: run `crowdaudit build` first")
    totals = _rows(con, """
        SELECT
            (SELECT count(*) FROM main.images) AS images,
            (SELECT count(*) FROM raw.hits) AS hits,
            (SELECT count(*) FROM raw.assignments) AS assignments,
            (SELECT count(*) FROM raw.assignments WHERE assignment_status = 'Rejected') AS rejected,
            (SELECT count(*) FROM main.votes) AS votes,
            (SELECT count(DISTINCT worker_id) FROM main.votes) AS workers,
            (SELECT count(*) FROM raw.gold) AS gold,
            (SELECT count(*) FROM main.majority_labels WHERE majority) AS labelled_yes,
            (SELECT count(*) FROM main.majority_labels WHERE NOT majority) AS labelled_no,
            (SELECT count(*) FROM main.majority_labels WHERE majority IS NULL) AS ties,
            (SELECT coalesce(sum(h.reward), 0) FROM raw.assignments AS a JOIN raw.hits AS h USING (hit_id)
             WHERE a.assignment_status <> 'Rejected') AS reward_paid
    """)[0]
    metrics = _rows(con, """
        SELECT * FROM main.classifier_metrics
        ORDER BY truth_source DESC, CASE grouping WHEN 'all' THEN 0 WHEN 'region' THEN 1 ELSE 2 END, grp
    """)
    wrong = _rows(con, f"""
        SELECT m.image_id, i.path, i.language, i.region, m.n_yes, m.n_votes, m.majority,
               p.target_in_top_k AS predicted,
               (SELECT string_agg(label, ', ' ORDER BY rank) FROM main.predictions AS q
                WHERE q.image_id = m.image_id AND q.label IS NOT NULL) AS top_labels
        FROM main.majority_labels AS m
        JOIN (SELECT DISTINCT image_id, target_in_top_k FROM main.predictions) AS p USING (image_id)
        LEFT JOIN main.images AS i USING (image_id)
        WHERE m.majority IS NOT NULL AND m.majority <> p.target_in_top_k
        ORDER BY i.region, i.language, m.image_id
        LIMIT {MAX_WRONG_IMAGES}
    """)
    for image in wrong:
        image["thumbnail"] = thumbnail_data_uri(image.pop("path"))
    workers = _rows(con, """
        SELECT w.worker_id, w.gold_answered, w.gold_correct, w.accuracy,
               (SELECT count(*) FROM main.votes AS v WHERE v.worker_id = w.worker_id) AS votes
        FROM main.worker_gold_accuracy AS w
        ORDER BY w.accuracy, w.gold_answered DESC, w.worker_id
    """)
    return {
        "generated_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "version": __version__,
        "totals": totals,
        "metrics": metrics,
        "region_metrics": [m for m in metrics if m["grouping"] in ("all", "region")],
        "wrong_images": wrong,
        "workers": workers,
    }


def render(context: dict) -> str:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR / "report"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["pct"] = lambda v: "–" if v is None else f"{100 * v:.1f}%"
    environment.filters["num"] = lambda v: "–" if v is None else f"{v:,}"
    environment.filters["money"] = lambda v: "–" if v is None else f"${float(v):,.2f}"
    return environment.get_template("report.html.j2").render(**context)


def write_report(con: duckdb.DuckDBPyConnection, output: Path) -> Path:
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render(gather(con)), encoding="utf-8")
    return output
