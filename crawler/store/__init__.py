"""How the archive lies on disk: format, paths, atomic writes, provenance. No Scrapy here."""

from .index import ProvenanceIndex, Record
from .writer import ArchiveError, ArchiveWriter, WriteResult

__all__ = ["ArchiveError", "ArchiveWriter", "ProvenanceIndex", "Record", "WriteResult"]
