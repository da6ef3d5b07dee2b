/*
 * fuzz_convo.c — libFuzzer harness for conversation files
 * (convo_from_json, what convo_load runs on a file's bytes). Any input is
 * either refused with a message naming the file, or loads into a
 * conversation that writes back to JSON which loads again to the same
 * JSON (a fixed point), and exports to Markdown and to a chat without
 * trouble. Build and run: see tests/fuzz/README.md.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "app/convo.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct convo c, again;
	char *cause = NULL;

	if (convo_from_json(&c, "fuzz.json", (const char *)data, size, &cause) != 0) {
		if (!cause || strncmp(cause, "fuzz.json: ", 11) != 0)
			abort(); /* a refusal names the file and says why */
		if (c.n_panes != 0)
			abort();
		free(cause);
		return 0;
	}
	if (c.n_panes < 1 || c.n_panes > CONVO_MAX_PANES || c.focus < 0 || c.focus >= (int)c.n_panes)
		abort();
	{
		char *json = convo_to_json(&c), *json2;
		if (convo_from_json(&again, "again.json", json, strlen(json), &cause) != 0)
			abort(); /* what we write, we read */
		json2 = convo_to_json(&again);
		/* "saved" is the time of writing: compare from "layout" on */
		const char *a = strstr(json, "\"layout\""), *b = strstr(json2, "\"layout\"");
		if (!a || !b || strcmp(a, b) != 0)
			abort();
		free(json);
		free(json2);
		convo_free(&again);
	}
	free(convo_markdown(&c));
	for (size_t i = 0; i < c.n_panes; i++) {
		struct chat chat = {0};
		convo_pane_to_chat(&c.panes[i], &chat);
		chat_free(&chat);
		for (size_t k = 0; k < c.panes[i].n_msgs; k++) {
			const char *t, *a;
			size_t tn, an, len = strlen(c.panes[i].msgs[k].text);
			convo_msg_split(&c.panes[i].msgs[k], &t, &tn, &a, &an);
			if (t < c.panes[i].msgs[k].text || t + tn > c.panes[i].msgs[k].text + len ||
			    a < c.panes[i].msgs[k].text || a + an > c.panes[i].msgs[k].text + len)
				abort(); /* the split stays inside the text */
		}
	}
	convo_free(&c);
	return 0;
}
