"""A local simulator of the kie.ai and unified-video APIs, for demo mode and integration tests."""
