"""Register images: from a manifest CSV, from a directory laid out like MMID, or as found in results.

The dataset layout `<dataset>/<language>/<word id>/<file>` (e.g.
`weddings-indian-languages/punjabi/7899/01.jpg`) carries language and word; region is looked up
from raw.language_regions at build time unless a manifest states it.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

import duckdb
import polars as pl

from etl.errors import InputFileError, crowdaudit_command
from etl.load.csvfile import (
    ROW_COLUMN,
    encodes_as_utf8,
    first_bad_row,
    first_contradiction,
    read_text_csv,
    refuse_path_not_utf8,
    without_repeats,
)
from etl.load.listing import BrokenLink, UnreadableFolder, entries_below, is_hidden
from etl.load.mturk_format import blank_to_null
from etl.load.transaction import LoadCounts, LoadResult, directory_fingerprint, load_file, skip_if_loaded
from etl.quality.gate import check_batch, quarantine_on_refusal
from etl.quality.suites import URL_SCHEME

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp"}
URL_UNSAFE = ("%", *' "#<>?\\^`{|}\x7f', *map(chr, range(1, 32)))
# No spaces, and no invisible format characters (a zero-width space pasted in makes another URL).
HTTP_URL = rf"^{URL_SCHEME}[^\s\p{{Cf}}/$.?#][^\s\p{{Cf}}]*$"
# <language>/<word>/<file> at the end of a path or URL.
LAYOUT = r"/?([^/]+)/([^/]+)/[^/]+$"
# A path segment followed by '..' (the segment neither '.' nor '..'), as os.path.normpath removes it.
SEGMENT_THEN_PARENT = r"/(?:[^/.][^/]*|\.[^/.][^/]*|\.\.[^/]+)/\.\.(?:/|$)"
# A manifest's columns as its header names them, for the quality gate's messages (the others keep their names).
MANIFEST_COLUMNS = {"image_id": "url"}


def not_a_url(value: str | None) -> str:
    """Why a value HTTP_URL refuses is not an http(s) URL, for the message that names it: "is not
    an http(s) URL" alone left users looking for what was wrong with a URL holding a space."""
    # Whitespace as polars and HTTP_URL mean it (Unicode White_Space): Python's also takes
    # \x1c-\x1f, and a URL starting with one was said to have no host.
    white = r"[^\S\x1c-\x1f]"
    text = "" if value is None else re.sub(rf"^{white}+|{white}+$", "", value)
    if not text:
        return "is empty: an http(s) URL is needed"
    if not re.match(URL_SCHEME, text):
        why = "it does not start with http:// or https://"
    elif re.search(white, text):
        why = "it holds a space or other whitespace (a URL writes a space as %20)"
    elif any(unicodedata.category(c) == "Cf" for c in text):
        why = "it holds an invisible format character (such as a zero-width space), which makes it another URL"
    else:
        why = "no host name follows http(s)://"
    return f"{value!r} is not an http(s) URL: {why}"


def url_languages_sql(relation: str) -> str:
    """SQL giving image_id, language and word as LAYOUT finds them in each URL of `relation` (a
    relation with an image_id column), NULL where it finds none; the language written as
    `language_name` writes it (URLs hold no format characters: HTTP_URL refuses them).

    The URL's last three '/'-separated parts, when none is empty, are what LAYOUT matches: taken
    by a split, half the CPU of the regex over the 4M URLs of a million-assignment file."""
    return (f"SELECT image_id, lower(nfc_normalize(CASE WHEN in_layout THEN parts[-3] END)) AS language, "
            f"CASE WHEN in_layout THEN parts[-2] END AS word FROM "
            f"(SELECT image_id, parts, len(parts) >= 3 AND parts[-1] <> '' AND parts[-2] <> '' AND parts[-3] <> '' "
            f"AS in_layout FROM (SELECT image_id, string_split(image_id, '/') AS parts FROM {relation}))")


def language_name(text: pl.Expr) -> pl.Expr:
    """How a language is written in the warehouse: lower case, Unicode NFC, so `Español` typed on
    a Mac (NFD) and on Windows (NFC) are one language, not two groups that look the same; invisible
    format characters (a zero-width space pasted in) are dropped for the same reason."""
    return text.str.normalize("NFC").str.replace_all(r"\p{Cf}", "").str.to_lowercase()


def language_from_path(path: pl.Expr) -> pl.Expr:
    return language_name(path.str.extract(LAYOUT, 1))


def word_from_path(path: pl.Expr) -> pl.Expr:
    return path.str.extract(LAYOUT, 2)


def upsert_images(con: duckdb.DuckDBPyConnection, images: pl.DataFrame, load_id: int) -> tuple[int, int]:
    """Insert new images; fill in what a later source knows about known ones. Returns (inserted, updated)."""
    staged = images.select("image_id", "path", "language", "word", "region")  # noqa: F841
    updated = con.execute(
        """
        UPDATE raw.images AS i SET
            path = coalesce(s.path, i.path),
            language = coalesce(s.language, i.language),
            word = coalesce(s.word, i.word),
            -- a new language without a region drops the old one's (hindi's non-Western is not english's)
            region = CASE WHEN s.region IS NOT NULL THEN s.region
                          WHEN s.language IS DISTINCT FROM i.language AND s.language IS NOT NULL THEN NULL
                          ELSE i.region END
        FROM staged AS s
        WHERE i.image_id = s.image_id
          AND (s.path IS DISTINCT FROM i.path AND s.path IS NOT NULL
            OR s.language IS DISTINCT FROM i.language AND s.language IS NOT NULL
            OR s.word IS DISTINCT FROM i.word AND s.word IS NOT NULL
            OR s.region IS DISTINCT FROM i.region AND s.region IS NOT NULL)
        """
    ).fetchall()[0][0]
    inserted = con.execute(
        """
        INSERT INTO raw.images
        SELECT s.image_id, s.path, s.language, s.word, s.region, ?
        FROM staged AS s ANTI JOIN raw.images AS i USING (image_id)
        """,
        [load_id],
    ).fetchall()[0][0]
    return inserted, updated


def register_images_seen(con: duckdb.DuckDBPyConnection, image_ids: str, load_id: int, *,
                         distinct: bool = False) -> int:
    """Register images a results file shows that the warehouse does not know yet.

    `image_ids` names a relation with an image_id column; `distinct` says no id occurs in it
    twice, so the query need not deduplicate them (DISTINCT over a million-assignment file's 4M
    URLs costs 0.7 s; see `all_distinct`). Language and word are taken from the URL when it
    follows the dataset layout with a known language (…/marathi/7992/02.jpg); set-based in
    DuckDB because a large batch shows millions of images.
    """
    return con.execute(
        f"""
        INSERT INTO raw.images
        WITH new_images AS (
            SELECT {"" if distinct else "DISTINCT "}image_id FROM {image_ids} ANTI JOIN raw.images USING (image_id)
        ),
        parsed AS ({url_languages_sql("new_images")})
        SELECT p.image_id, NULL, r.language, CASE WHEN r.language IS NOT NULL THEN p.word END, NULL, ?
        FROM parsed AS p LEFT JOIN raw.language_regions AS r USING (language)
        """,
        [load_id],
    ).fetchall()[0][0]


def registered_without_region(con: duckdb.DuckDBPyConnection, load_id: int) -> list[str]:
    """A note on the images a load registered whose URL names no language the language -> region
    table knows: the marts put them in region 'unknown', out of the Western/non-Western comparison,
    so the load says how many and how to place them."""
    [(count, first)] = con.execute(
        "SELECT count(*), min(image_id) FROM raw.images WHERE load_id = ? AND language IS NULL AND region IS NULL",
        [load_id],
    ).fetchall()
    if not count:
        return []
    note = (f"note: {count:,} image(s) first seen here get region 'unknown' (first: {first}): their URL names no "
            "language the language -> region table knows; give their language or region with "
            f"`{crowdaudit_command('load images MANIFEST.csv')}`, or add a language named in their URLs with "
            f"`{crowdaudit_command('load regions FILE.csv')}`, and build again")
    return [note]


def all_distinct(values: pl.Series) -> bool:
    """Whether no value occurs twice, decided on 64-bit hashes: ten times faster than comparing
    the strings, and exact, since equal values have equal hashes (a collision only answers False)."""
    return values.hash().n_unique() == values.len()


# What a loaded id can name: a registered image, or a task of long-format votes.
# (An id may come twice: `images_not_known` anti-joins it, which deduplicating would only slow.)
IMAGES_OR_VOTES = "SELECT image_id FROM raw.images UNION ALL SELECT image_id FROM raw.external_votes"


def images_not_known(con: duckdb.DuckDBPyConnection, staged: str, known: str) -> tuple[int, int, str | None]:
    """(distinct image_ids of `staged` not in `known`, distinct image_ids of `staged`, the first
    unknown one): for a loader's note on ids that name no image. All zero when none is unknown, or
    when `known` is empty: a file loaded before any image has nothing to be compared with.

    `known` may name an id twice (an anti-join does not care). The staged ids are counted only
    when some are unknown, since only the note says how many: 0.3 s of the 1.5 s that one query
    counting both took for 4M predictions on a warehouse of 4M images.

    Plain queries, no CTE: DuckDB 2.0 never finishes a query in which `EXISTS` and `NOT IN`
    read the same CTE once it holds millions of rows (every thread waits), which made
    `load gold` hang on a warehouse of 5,000,000 images."""
    if not con.execute(f"SELECT EXISTS ({known})").fetchall()[0][0]:
        return 0, 0, None
    missing, example = con.execute(
        f"SELECT count(DISTINCT image_id), min(image_id) FROM {staged} ANTI JOIN ({known}) AS k USING (image_id)"
    ).fetchall()[0]
    if not missing:
        return 0, 0, None
    total = con.execute(f"SELECT count(DISTINCT image_id) FROM {staged}").fetchall()[0][0]
    return missing, total, example


def url_keys_sql(relation: str) -> str:
    """SQL giving image_id and url_key for each image_id of `relation`: what makes two spellings of
    a URL one address to a browser, so that scheme and host in any case (RFC 3986 3.1, 3.2.2), a
    default port written or not, and the rest percent-encoded or not (`%27` and an apostrophe;
    `%C3%A9` and `é`, as Python's quote() and a directory load write them) give one key. Only for
    noticing such spellings: an image's id stays the URL exactly as given."""
    return f"""
        SELECT image_id,
               CASE WHEN starts_with(authority, 'https://') AND suffix(authority, ':443')
                      OR starts_with(authority, 'http://') AND suffix(authority, ':80')
                    THEN regexp_replace(authority, ':[0-9]+$', '') ELSE authority END
               || CASE WHEN contains(rest, '%') THEN coalesce(try(url_decode(rest)), rest) ELSE rest END AS url_key
        FROM (SELECT image_id, lower(authority) AS authority, substr(image_id, length(authority) + 1) AS rest
              FROM (SELECT image_id, regexp_extract(image_id, '^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*') AS authority
                    FROM {relation}))"""


def other_spellings_of_known_images(con: duckdb.DuckDBPyConnection, images: pl.DataFrame) -> list[str]:
    """A note when URLs `images` would add are another spelling (see `url_keys_sql`) of images the
    warehouse has: votes, gold and predictions go by the exact URL, so the manifest's language,
    region and path would land on an image nobody voted on, and the one the crowd saw stays in
    region 'unknown', without a word. Loaded all the same: a host that tells case apart is rare
    but legal, and the user is the one who knows."""
    new_ids = images.select("image_id")  # noqa: F841 (read by the query)
    count, example, known = con.execute(
        f"""
        SELECT count(DISTINCT n.image_id), min(n.image_id), arg_min(k.image_id, n.image_id)
        FROM ({url_keys_sql("(SELECT image_id FROM new_ids ANTI JOIN raw.images USING (image_id))")}) AS n
        JOIN ({url_keys_sql("raw.images")}) AS k USING (url_key)
        """
    ).fetchall()[0]
    if not count:
        return []
    return [(f"note: {count} new image URL(s) are another spelling of a known image's (e.g. {example!r} and "
            f"{known!r}: the case of the scheme or host, a default port, or percent-encoding); they are other "
            "images to the warehouse, since votes, gold and predictions name an image by its exact URL: if they "
            "are the same files, write the URLs as the warehouse has them")]


def _manifest_frame(path: Path) -> tuple[pl.DataFrame, int]:
    """(one row per image of a manifest, how many rows repeated an earlier one and were dropped)."""
    raw = read_text_csv(path, required=("url", "language"), fold_case=True)
    optional = {name: pl.col(name) if name in raw.columns else pl.lit(None, pl.String)
                for name in ("path", "word", "region")}
    frame = raw.select(
        ROW_COLUMN,
        pl.col("url").str.strip_chars().alias("image_id"),
        blank_to_null(optional["path"]).alias("path"),
        language_name(blank_to_null(pl.col("language"))).alias("language"),
        blank_to_null(optional["word"]).alias("word"),
        blank_to_null(optional["region"]).alias("region"),
    )
    bad = first_bad_row(frame, pl.col("image_id").is_null() | ~pl.col("image_id").str.contains(HTTP_URL))
    if bad:
        raise InputFileError(
            str(path), f"url {not_a_url(bad['image_id'])}", row=bad[ROW_COLUMN], column="url"
        )
    bad = first_bad_row(frame, pl.col("language").is_null())
    if bad:
        raise InputFileError(str(path), f"language is empty for {bad['image_id']}",
                             row=bad[ROW_COLUMN], column="language")
    if frame.select(pl.col("path").is_not_null() & ~pl.col("path").str.starts_with("/")).to_series().any():
        refuse_path_not_utf8(path.parent, resolved=True)  # a relative path is stored taken from there
    frame = absolute_paths(frame, "path", path.parent)
    contradiction = first_contradiction(frame, "image_id", ("path", "language", "word", "region"))
    if contradiction:
        clash, first, column = contradiction
        raise InputFileError(
            str(path),
            f"url {clash['image_id']} appears again (first at row {first[ROW_COLUMN]}) with a different {column}",
            row=clash[ROW_COLUMN],
            column=column,
        )
    return without_repeats(frame, "image_id")


def absolute_paths(frame: pl.DataFrame, column: str, base: Path) -> pl.DataFrame:
    """`column`'s paths as absolute paths, a relative one taken as relative to `base` (a manifest's
    folder: where its writer was looking), not to whichever folder `classify` later runs in. Then
    normalised as os.path.normpath does ('./', 'a/../', '//'), so `classify DIR` finds the file
    below DIR and a predictions file can name it by the same text. Nulls stay null."""
    folder = str(Path(base).resolve()).rstrip("/") + "/"
    path = pl.col(column)
    path = pl.when(path.str.starts_with("/")).then(path).otherwise(pl.lit(folder) + path)
    frame = frame.with_columns(path.str.replace_all(r"/(?:\.?/)+", "/").str.replace(r"/\.$", "/").alias(column))
    # One pass takes away one 'segment/..' per run of them: as many passes as the deepest run.
    while frame.select(pl.col(column).str.contains(SEGMENT_THEN_PARENT).any()).item():
        frame = frame.with_columns(pl.col(column).str.replace_all(SEGMENT_THEN_PARENT, "/"))
    # '..' above the root is the root; a trailing '/' is the folder itself.
    return frame.with_columns(pl.col(column).str.replace(r"^(?:/\.\.)+(?:/|$)", "/")
                              .str.replace(r"(.)/$", "${1}"))


def region_key(region: pl.Expr) -> pl.Expr:
    """How two spellings of a region are recognised as one: 'Non western', 'NON-WESTERN' and
    'non_Western' are all non-Western."""
    return region.str.to_lowercase().str.replace_all(r"[\s_-]+", "")


# The region the marts give an image whose language the table does not know (stg_images).
UNKNOWN_REGION = "unknown"


def canonical_regions(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    """Spell each region as the warehouse already does, so a manifest's 'western' is not a group of
    its own in classifier_metrics: as raw.language_regions has it (`Unknown` as the marts write
    `unknown`), else as a manifest gave it to images, else as this file first wrote it
    (`Middle East` then `middle-east` is one new region). A region the table does not know is
    named in a note (a typo would otherwise pass unseen)."""
    def spellings(query: str) -> pl.DataFrame:
        return pl.DataFrame(con.execute(query).fetchall(), schema={"known": pl.String}, orient="row")

    table = spellings("SELECT DISTINCT region FROM raw.language_regions ORDER BY region")
    marts = pl.DataFrame({"known": [UNKNOWN_REGION]})  # the group of images of no known region
    in_use = pl.concat([table, marts,
                        spellings("SELECT DISTINCT region FROM raw.images WHERE region IS NOT NULL ORDER BY region"),
                        frame.select(pl.col("region").drop_nulls().alias("known"))])
    known = in_use.with_columns(region_key(pl.col("known")).alias("key")).unique("key", keep="first",
                                                                                 maintain_order=True)
    spelled = frame.with_columns(region_key(pl.col("region")).alias("key")).join(
        known, on="key", how="left", maintain_order="left")
    table_keys = pl.concat([table, marts]).select(region_key(pl.col("known")))["known"].implode()
    unknown = spelled.filter(pl.col("region").is_not_null() & ~pl.col("key").is_in(table_keys))
    notes = []
    if unknown.height:
        names = unknown["known"].unique(maintain_order=True).to_list()
        notes.append(f"note: region(s) {', '.join(map(repr, names[:5]))} (first at row {unknown[ROW_COLUMN][0]}) "
                     f"are not among the known regions ({', '.join(sorted(table['known']))}); "
                     "each will be a group of its own")
    return spelled.with_columns(pl.coalesce("known", "region").alias("region")).drop("key", "known"), notes


def languages_without_region(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame) -> list[str]:
    """A note naming the languages whose images get no region: the manifest gives none and the
    language -> region table lacks them, so the marts put them in region 'unknown'. An endonym
    (`Deutsch`) or a typo (`hindhi`) would otherwise drop out of the Western/non-Western comparison
    unseen."""
    missing = frame.filter(pl.col("region").is_null() & ~pl.col("language").is_in(known_languages(con)))
    if missing.is_empty():
        return []
    names = missing["language"].unique(maintain_order=True).to_list()
    shown = ", ".join(map(repr, names[:5])) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    note = (f"note: {missing.height:,} image(s) of language(s) {shown} (first at row {missing[ROW_COLUMN][0]}) get "
            "region 'unknown': the file gives them no region and the language -> region table does not know "
            f"the language; add it with `{crowdaudit_command('load regions FILE.csv')}` (columns language,region) "
            "and build again")
    return [note]


def load_images_manifest(con: duckdb.DuckDBPyConnection, manifest: Path, *, allow_warnings: bool = False
                         ) -> LoadResult:
    """`crowdaudit load images MANIFEST.csv` (columns url,language; optional path, word, region)."""
    refuse_path_not_utf8(manifest)
    sha256, loaded_before = skip_if_loaded(con, "images", Path(manifest))
    if loaded_before:
        return loaded_before
    with quarantine_on_refusal(con, Path(manifest)):
        images, repeats = _manifest_frame(Path(manifest))
        frame, region_notes = canonical_regions(con, images)
        region_notes += languages_without_region(con, frame)
        warnings = check_batch("images", Path(manifest), {"images": frame}, allow_warnings=allow_warnings,
                               file_columns=MANIFEST_COLUMNS)

    def write(con: duckdb.DuckDBPyConnection, load_id: int) -> LoadCounts:
        spellings = other_spellings_of_known_images(con, frame)
        inserted, updated = upsert_images(con, frame, load_id)
        return LoadCounts(rows_in_file=frame.height + repeats, inserted=inserted, updated=updated,
                          notes=[*region_notes, *spellings, *warnings], repeats=repeats)

    return load_file(con, "images", Path(manifest), write, sha256=sha256)


def images_in_directory(directory: Path, files: Iterable[Path], *, url_prefix: str) -> pl.DataFrame:
    """The image files among `files` (relative to `directory`), with the URL each will be shown at
    and its language/word."""
    directory = Path(directory)
    relative = sorted(p.as_posix() for p in files if _is_image(p))
    not_utf8 = next((name for name in relative if not encodes_as_utf8(name)), None)
    if not_utf8 is not None:
        raise InputFileError(str(directory), f"file {os.fsencode(not_utf8)!r}: its name is not UTF-8, so it "
                                             "cannot be part of a URL; rename it")
    prefix = url_prefix.rstrip("/") + "/"
    return pl.DataFrame({"relative": relative}, schema={"relative": pl.String}).select(
        (pl.lit(prefix) + url_path(pl.col("relative"))).alias("image_id"),
        (pl.lit(str(directory.resolve()) + "/") + pl.col("relative")).alias("path"),
        language_from_path(pl.col("relative")).alias("language"),
        word_from_path(pl.col("relative")).alias("word"),
        pl.lit(None, pl.String).alias("region"),
    )


def _is_image(relative: Path) -> bool:
    """A file a directory load registers: an image suffix, and not hidden (see `is_hidden`)."""
    return relative.suffix.lower() in IMAGE_SUFFIXES and not is_hidden(relative)


def _links_to_nothing(broken: list[BrokenLink]) -> str:
    """How many image links lead to no file, and the first few with where each points and why."""
    return f"{len(broken)} image link(s) lead to no file (moved, or on a drive not mounted?): {_first_few(broken)}"


def _folders_not_read(unreadable: list[UnreadableFolder]) -> str:
    """How many folders could not be listed, and the first few with why."""
    return f"{len(unreadable)} folder(s) could not be read: {_first_few(unreadable)}"


def _first_few(found: list[BrokenLink] | list[UnreadableFolder], shown: int = 3) -> str:
    more = f" and {len(found) - shown} more" if len(found) > shown else ""
    return ", ".join(item.brief() for item in found[:shown]) + more


def url_path(relative: pl.Expr) -> pl.Expr:
    """A relative file path as it goes into a URL: the characters that would end or change a URL
    (space, #, ?, %, quotes, controls) percent-encoded, everything else (non-ASCII letters
    included) as written, so URLs in results files that name the same files still match."""
    for char in URL_UNSAFE:  # % first, or the other escapes would be escaped again
        relative = relative.str.replace_all(char, f"%{ord(char):02X}", literal=True)
    return relative


def check_url_prefix(url_prefix: str, source: str) -> None:
    """A prefix is the start of URLs: http(s), and no query or fragment for a path to follow."""
    if not pl.select(pl.lit(url_prefix).str.contains(HTTP_URL)).item():
        raise InputFileError(source, f"--url-prefix {url_prefix!r} is not an http(s) URL")
    if "?" in url_prefix or "#" in url_prefix:
        raise InputFileError(source, f"--url-prefix {url_prefix!r} holds a query or fragment (? or #); "
                                     "paths cannot follow it")


def known_languages(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The languages raw.language_regions gives a region."""
    return [row[0] for row in con.execute("SELECT language FROM raw.language_regions").fetchall()]


def _known_languages_only(con: duckdb.DuckDBPyConnection, frame: pl.DataFrame) -> pl.DataFrame:
    """Keep a language (and the word beside it) taken from a path only when it is a language the
    warehouse knows: a file one level too shallow would otherwise give language
    'weddings-indian-languages' and word 'punjabi', and overwrite what a manifest said (the rule
    results ingest follows for URLs)."""
    is_known = pl.col("language").is_in(known_languages(con))
    return frame.with_columns(pl.when(is_known).then(pl.col("language")).alias("language"),
                              pl.when(is_known).then(pl.col("word")).alias("word"))


def load_images_dir(con: duckdb.DuckDBPyConnection, directory: Path, *, url_prefix: str,
                    allow_warnings: bool = False) -> LoadResult:
    """`crowdaudit load images DIR --url-prefix URL`: the seed dataset's folder layout."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InputFileError(str(directory), "is not a directory")
    refuse_path_not_utf8(directory, resolved=True)  # each image's path is stored from it
    check_url_prefix(url_prefix, str(directory))
    unreadable: list[UnreadableFolder] = []
    files, links = entries_below(directory, unreadable)
    frame = _known_languages_only(con, images_in_directory(directory, files, url_prefix=url_prefix))
    broken = sorted((link for link in links if _is_image(link.relative)), key=lambda link: link.relative)
    unreadable = [folder for folder in unreadable if not is_hidden(folder.relative)]
    if frame.height == 0:
        raise InputFileError(
            str(directory), f"holds no image files ({', '.join(sorted(IMAGE_SUFFIXES))})"
                            + (f"; {_links_to_nothing(broken)}" if broken else "")
                            + (f"; {_folders_not_read(unreadable)}" if unreadable else "")
        )
    with quarantine_on_refusal(con, directory):
        warnings = check_batch("images", directory, {"images": frame}, allow_warnings=allow_warnings)

    def write(con: duckdb.DuckDBPyConnection, load_id: int) -> LoadCounts:
        notes = other_spellings_of_known_images(con, frame)
        inserted, updated = upsert_images(con, frame, load_id)
        if broken:
            notes.append(f"note: {_links_to_nothing(broken)}; they are not registered")
        if unreadable:  # permission denied, say: the images in them are not registered
            notes.append(f"note: {_folders_not_read(unreadable)}; the images in them are not registered")
        return LoadCounts(rows_in_file=frame.height, inserted=inserted, updated=updated, notes=[*notes, *warnings])

    return load_file(con, "images", directory, write,
                     sha256=directory_fingerprint(directory, served_at=f"{url_prefix} from {directory.resolve()}",
                                                  sizes=files))
