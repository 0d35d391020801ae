"""Reader for the Fashion Product Images catalog file (styles.csv).

Plain Python on purpose: the catalog importer and the ML training command both
read this file, and neither should need the other to do it.

The source file has rows whose last column (productDisplayName) contains
unquoted commas. Because the name is the last column, the extra fields can be
joined back into it without guessing.
"""
import csv
from dataclasses import dataclass
from pathlib import Path

COLUMNS = (
    "id", "gender", "masterCategory", "subCategory", "articleType",
    "baseColour", "season", "year", "usage", "productDisplayName",
)
REQUIRED = ("id", "gender", "masterCategory", "subCategory", "articleType")


@dataclass(frozen=True)
class RowError:
    line: int
    reason: str

    def __str__(self):
        return f"line {self.line}: {self.reason}"


def _clean(value):
    value = value.strip()
    return "" if value == "NA" else value


def parse_row(fields, line):
    """Turn one list of CSV fields into a dict, or raise ValueError with the reason."""
    if len(fields) < len(COLUMNS):
        raise ValueError(f"expected {len(COLUMNS)} columns, found {len(fields)}")
    if len(fields) > len(COLUMNS):
        # Unquoted commas in the product name: the name is the last column.
        fields = fields[: len(COLUMNS) - 1] + [",".join(fields[len(COLUMNS) - 1:])]
    row = {col: _clean(value) for col, value in zip(COLUMNS, fields)}
    missing = [col for col in REQUIRED if not row[col]]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    if not row["id"].isdigit():
        raise ValueError(f"id {row['id']!r} is not a positive integer")
    if row["year"]:
        if not row["year"].isdigit():
            raise ValueError(f"year {row['year']!r} is not a number")
        row["year"] = int(row["year"])
    else:
        row["year"] = None
    return row


def read_styles(path):
    """Yield (line_number, row_dict | None, RowError | None) for every data line.

    Line numbers count the header as line 1, as an editor shows them.
    """
    path = Path(path)
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or [h.strip() for h in header[: len(COLUMNS)]] != list(COLUMNS):
            raise ValueError(f"{path}: header must be {','.join(COLUMNS)}")
        for fields in reader:
            line = reader.line_num
            if not any(f.strip() for f in fields):
                continue
            try:
                yield line, parse_row(fields, line), None
            except ValueError as exc:
                yield line, None, RowError(line, str(exc))


def load_rows(path):
    """All usable rows and all errors of a styles file, as two lists."""
    rows, errors = [], []
    for _, row, error in read_styles(path):
        if row is not None:
            rows.append(row)
        else:
            errors.append(error)
    return rows, errors
