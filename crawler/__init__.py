"""Archive Sina Finance's news roll and any RSS/Atom/JSON feed into a Hexo folder."""

__version__ = "0.1.0"
