"""The batch importer: CSV/JSONL files from regional systems and spreadsheets, as events."""

from adapters.importer.exceptions import ImportError_, InputFileError, MappingError
from adapters.importer.importer import Importer, ImportResult, RowError, write_report
from adapters.importer.mapping import ColumnMapping
from adapters.importer.reader import SourceRow, count_rows, detect_format, read_rows

__all__ = [
    "Importer",
    "ImportResult",
    "RowError",
    "ColumnMapping",
    "SourceRow",
    "count_rows",
    "detect_format",
    "read_rows",
    "write_report",
    "ImportError_",
    "InputFileError",
    "MappingError",
]
