"""kievideo: a desktop studio for AI video generation (kie.ai Veo 3.1, Runway, Aleph, unified APIs)."""

__version__ = "0.1.0"
