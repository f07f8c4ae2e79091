from fakegithub.fixtures import fake_github  # noqa: F401  (the fixture, for every test module)
