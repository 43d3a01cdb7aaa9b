"""How the archive lies on disk: format, paths, atomic writes, provenance. No Scrapy here."""

from .index import ProvenanceIndex, Record
from .writer import WRITE_ERRORS, ArchiveError, ArchiveWriter, WriteResult

__all__ = [
    "WRITE_ERRORS",
    "ArchiveError",
    "ArchiveWriter",
    "ProvenanceIndex",
    "Record",
    "WriteResult",
]
