pytest_plugins = ["kievideo.sim.pytest_plugin"]
