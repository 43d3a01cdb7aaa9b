"""How the archive lies on disk: format, paths, atomic writes, provenance. No Scrapy here."""

from .index import ProvenanceIndex, Record
from .writer import ArchiveError, ArchiveWriter, ItemError, WriteResult

__all__ = [
    "ArchiveError",
    "ArchiveWriter",
    "ItemError",
    "ProvenanceIndex",
    "Record",
    "WriteResult",
]
