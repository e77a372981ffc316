"""Tests of the provider-API simulator (kievideo.sim), over real sockets."""
