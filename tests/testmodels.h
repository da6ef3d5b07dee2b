/*
 * testmodels.h — where tests find real models (fetched by setup.sh into the
 * cache, never committed). A missing model skips the test, unless
 * DUET_REQUIRE_MODELS=1 (CI) makes it a failure.
 */
#ifndef DUET_TESTS_TESTMODELS_H
#define DUET_TESTS_TESTMODELS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/tap.h"

/* $DUET_MODELS, else $XDG_CACHE_HOME/duet/models, else ~/.cache/duet/models. */
__attribute__((unused)) static void testmodels_dir(char *out, size_t size)
{
	const char *d = getenv("DUET_MODELS"), *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	if (d && *d)
		snprintf(out, size, "%s", d);
	else if (xdg && *xdg)
		snprintf(out, size, "%s/duet/models", xdg);
	else
		snprintf(out, size, "%s/.cache/duet/models", home ? home : ".");
}

/*
 * Path of a model file by its name in the cache (e.g.
 * "SmolLM2-135M-Instruct.Q4_1.gguf"), or NULL after reporting: a TAP skip
 * (or a failure under DUET_REQUIRE_MODELS=1).
 */
__attribute__((unused)) static const char *testmodels_path(const char *name)
{
	static char path[4096];
	char dir[3800];
	testmodels_dir(dir, sizeof dir);
	snprintf(path, sizeof path, "%s/%s", dir, name);
	if (access(path, R_OK) == 0)
		return path;
	const char *req = getenv("DUET_REQUIRE_MODELS");
	if (req && strcmp(req, "1") == 0)
		tap_ok(0, "model %s present (run ./setup.sh to fetch it)", path);
	else
		tap_skip("model %s not fetched (./setup.sh fetches it)", path);
	return NULL;
}

/* A fixture committed under tests/golden/fixtures. */
__attribute__((unused)) static const char *testmodels_fixture(const char *name)
{
	static char path[4096];
	const char *top = getenv("top_srcdir");
	snprintf(path, sizeof path, "%s/tests/golden/fixtures/%s", top && *top ? top : ".", name);
	return path;
}

#endif
