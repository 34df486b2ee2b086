"""gennet test suite (a package, so that tests.* helpers resolve here, not to a site-packages `tests`)."""
